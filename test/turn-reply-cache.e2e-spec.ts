import { generateApiKey, hashApiKey } from '../src/auth/api-keys';
import { CONVERSATIONS as BASE, withTestApp } from './utils/harness';
import { streamedText } from './utils/sse';

const keys = { alice: generateApiKey(), bob: generateApiKey() };
const as = (owner: keyof typeof keys) => ({ 'X-API-Key': keys[owner] });
// Longer than one cached piece, so a streamed hit comes in several deltas.
const MESSAGE = 'What is the capital of Portugal, and what should I see there in one day?';

describe('Reply cache on turns', () => {
  const t = withTestApp({
    env: {
      AUTH_MODE: 'api-key',
      API_KEYS: Object.entries(keys)
        .map(([owner, key]) => `${owner}:${hashApiKey(key).toString('hex')}`)
        .join(','),
      RESPONSE_CACHE_TTL_S: '300',
    },
  });
  const conversation = (owner: keyof typeof keys) => t.createConversation({}, as(owner));
  const manifest = async (owner: keyof typeof keys, id: string, messageId: string) =>
    (await t.http.get(`${BASE}/${id}/messages/${messageId}/context`).set(as(owner)).expect(200))
      .body as Record<string, unknown>;

  it('should answer an identical deterministic turn of the same owner from the cache', async () => {
    const params = { temperature: 0 };
    const firstId = await conversation('alice');
    const first = await t.send(firstId, MESSAGE, {
      params,
      headers: as('alice'),
    });
    const id = await conversation('alice');
    const second = await t.send(id, MESSAGE, { params, headers: as('alice') });
    expect(t.fake.requests).toHaveLength(1);

    expect(second.body.response).toBe(first.body.response);
    expect(second.body.assistantMessage).toMatchObject({
      status: 'complete',
      upstreamModel: 'fake-model',
      finishReason: 'stop',
      usage: first.body.assistantMessage.usage,
    });
    const stored = await t.storedMessages(id);
    expect(stored.map((m) => [m.role, m.status, m.content])).toEqual([
      ['user', 'complete', MESSAGE],
      ['assistant', 'complete', first.body.response],
    ]);
    const { assistantMessage } = second.body as { assistantMessage: { id: string } };
    expect(await manifest('alice', id, assistantMessage.id)).toMatchObject({ cached: true });
    const original = first.body as { assistantMessage: { id: string } };
    expect(await manifest('alice', firstId, original.assistantMessage.id)).not.toHaveProperty(
      'cached',
    );

    // Streamed: the cached text comes as deltas, still without a provider call.
    const stream = await t.stream(await conversation('alice'), MESSAGE, {
      params,
      headers: as('alice'),
    });
    const deltas = stream.events.filter((e) => e.event === 'message.delta');
    expect(deltas.length).toBeGreaterThan(1);
    expect(streamedText(stream.events)).toBe(first.body.response);
    expect(t.fake.requests).toHaveLength(1);
  });

  it('should not share a reply between owners', async () => {
    const params = { seed: 7 };
    await t.send(await conversation('alice'), MESSAGE, { params, headers: as('alice') });
    await t.send(await conversation('bob'), MESSAGE, { params, headers: as('bob') });
    expect(t.fake.requests).toHaveLength(2);
    await t.send(await conversation('bob'), MESSAGE, { params, headers: as('bob') });
    expect(t.fake.requests).toHaveLength(2);
  });

  it('should call the provider for every turn that is not deterministic', async () => {
    await t.send(await conversation('alice'), MESSAGE, { headers: as('alice') });
    await t.send(await conversation('alice'), MESSAGE, { headers: as('alice') });
    expect(t.fake.requests).toHaveLength(2);
  });
});
