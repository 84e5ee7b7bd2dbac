import { createParser, EventSourceMessage } from 'eventsource-parser';

import { FakeLlmServer } from './fake-llm/fake-llm-server';
import { createTestDatabase, TestDatabase } from './utils/database';
import { startTestApp, TestApp } from './utils/test-app';

const BASE = '/api/v1/conversations';

describe("A provider's Retry-After reaches the client", () => {
  let db: TestDatabase;
  let fake: FakeLlmServer;
  let t: TestApp;

  beforeAll(async () => {
    db = await createTestDatabase();
    fake = new FakeLlmServer();
    await fake.start();
    t = await startTestApp(db.url, {
      LMSTUDIO_BASE_URL: fake.openAiBaseUrl,
      LMSTUDIO_MODEL: 'fake-model',
      DEFAULT_MODEL: 'lmstudio/default',
      LLM_MAX_RETRIES: '0',
    });
  });

  afterAll(async () => {
    await t?.close();
    await fake?.stop();
    await db?.drop();
  });

  beforeEach(() => fake.reset());

  const conversation = async (): Promise<string> =>
    (await t.http.post(BASE).send({}).expect(201)).body.id as string;

  it('should answer a whole reply 429 provider_rate_limited with the Retry-After header', async () => {
    fake.script({ kind: 'error', status: 429, retryAfter: '60' });
    const id = await conversation();
    const res = await t.http.post(`${BASE}/${id}/messages`).send({ message: 'hi' }).expect(429);

    expect(res.body.error).toBe('provider_rate_limited');
    expect(res.headers['retry-after']).toBe('60');
  });

  it('should put retryAfter in the SSE error event', async () => {
    fake.script({ kind: 'error', status: 429, retryAfter: '60' });
    const id = await conversation();
    const res = await fetch(`${t.url}${BASE}/${id}/messages/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'hi' }),
    });
    const events: EventSourceMessage[] = [];
    const parser = createParser({ onEvent: (event) => events.push(event) });
    parser.feed(await res.text());

    const error = events.find((e) => e.event === 'error');
    expect(JSON.parse(error!.data)).toMatchObject({
      code: 'provider_rate_limited',
      retryAfter: 60,
    });
  });

  it('should replay a failed turn with the same status for an idempotent retry', async () => {
    fake.script({ kind: 'error', status: 429, retryAfter: '60' });
    const id = await conversation();
    const send = () =>
      t.http.post(`${BASE}/${id}/messages`).set('Idempotency-Key', 'k-1').send({ message: 'hi' });
    await send().expect(429);
    const replay = await send().expect(429);

    expect(replay.body.error).toBe('provider_rate_limited');
    expect(fake.requests).toHaveLength(1);
  });
});
