import OpenAI from 'openai';
import type { ResponseStreamEvent } from 'openai/resources/responses/responses';

import { generateApiKey, hashApiKey } from '../src/auth/api-keys';
import { apiError } from './utils/owners';
import { AppClient, CONVERSATIONS, waitUntil, withTestApp } from './utils/harness';

const ALIAS = 'lmstudio/default';

/** The real SDK as an OpenAI user points it at us; no SDK retries, so counts are exact. */
function sdk(t: AppClient, defaultHeaders?: Record<string, string>, apiKey = 'not-needed'): OpenAI {
  return new OpenAI({
    baseURL: `${t.url}/v1`,
    apiKey,
    maxRetries: 0,
    defaultHeaders,
  });
}

async function collect(stream: AsyncIterable<ResponseStreamEvent>): Promise<ResponseStreamEvent[]> {
  const events: ResponseStreamEvent[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

const uuidOf = (id: string): string => {
  const hex = id.replace(/^[a-z]+_/, '');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
};

describe('OpenAI Responses and Conversations APIs', () => {
  const t = withTestApp({ env: { LMSTUDIO_MODEL: 'fake-model', LLM_MAX_RETRIES: '0' } });
  let client: OpenAI;
  beforeAll(() => (client = sdk(t)));

  it('should hold a multi-turn conversation with previous_response_id, stored as /api/v1 shows it', async () => {
    const first = await client.responses.create({
      model: ALIAS,
      input: 'My name is Ada',
      instructions: 'Be brief.',
    });
    expect(first).toMatchObject({
      object: 'response',
      status: 'completed',
      model: ALIAS,
      instructions: 'Be brief.',
    });
    expect(first.id).toMatch(/^resp_[0-9a-f]{32}$/);
    // The fake echoes the last user message and counts the messages it was sent.
    expect(first.output_text).toBe('Echo: My name is Ada [messages=2]');
    expect(first.usage).toMatchObject({
      input_tokens: expect.any(Number),
      output_tokens: expect.any(Number),
    });

    const second = await client.responses.create({
      model: ALIAS,
      input: 'What is my name?',
      previous_response_id: first.id,
    });
    // system + first user + first reply + this message: the history went with it.
    // (Without instructions, the default system prompt is sent: one message more.)
    expect(second.output_text).toBe('Echo: What is my name? [messages=4]');
    expect(second.previous_response_id).toBe(first.id);
    expect(second.conversation?.id).toBe(first.conversation?.id);

    const conversationId = uuidOf(first.conversation!.id);
    const messages = await t.http.get(`${CONVERSATIONS}/${conversationId}/messages`).expect(200);
    expect(messages.body.data.map((m: { content: string }) => m.content)).toEqual([
      'My name is Ada',
      'Echo: My name is Ada [messages=2]',
      'What is my name?',
      'Echo: What is my name? [messages=4]',
    ]);
    expect(messages.body.data[3].id).toBe(uuidOf(second.id));
  });

  it('should branch when previous_response_id is not the end of its conversation', async () => {
    const first = await client.responses.create({ model: ALIAS, input: 'one' });
    const second = await client.responses.create({
      model: ALIAS,
      input: 'two',
      previous_response_id: first.id,
    });
    const branch = await client.responses.create({
      model: ALIAS,
      input: 'two again',
      previous_response_id: first.id,
    });
    expect(branch.output_text).toBe('Echo: two again [messages=4]');
    const conversationId = uuidOf(first.conversation!.id);
    const path = await t.http.get(`${CONVERSATIONS}/${conversationId}/messages`).expect(200);
    const contents = path.body.data.map((m: { content: string }) => m.content);
    expect(contents).toEqual([
      'one',
      'Echo: one [messages=2]',
      'two again',
      'Echo: two again [messages=4]',
    ]);
    expect(path.body.data[2].siblingCount).toBe(2);
    // The other branch is still there, and retrievable.
    expect((await client.responses.retrieve(second.id)).output_text).toBe('Echo: two [messages=4]');
  });

  it('should stream OpenAI-shaped events with sequence numbers, and retrieve the same response', async () => {
    const stream = client.responses.stream({ model: ALIAS, input: 'stream me please' });
    const events = await collect(stream);
    const final = await stream.finalResponse();
    const types = events.map((e) => e.type);
    expect(types.slice(0, 4)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
    ]);
    expect(types.slice(-4)).toEqual([
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    const deltas = events.filter((e) => e.type === 'response.output_text.delta');
    expect(deltas.length).toBeGreaterThan(1);
    expect(final.output_text).toBe('Echo: stream me please [messages=2]');
    const retrieved = await client.responses.retrieve(final.id);
    expect(retrieved).toMatchObject({
      id: final.id,
      status: 'completed',
      output_text: final.output_text,
    });
  });

  it('should give reasoning its own output item before the message', async () => {
    const events = await collect(
      await client.responses.create({ model: ALIAS, input: '/think hard', stream: true }),
    );
    const types = events.map((e) => e.type);
    expect(types).toContain('response.reasoning_text.delta');
    const completed = events.at(-1) as Extract<ResponseStreamEvent, { type: 'response.completed' }>;
    expect(completed.response.output.map((item) => item.type)).toEqual(['reasoning', 'message']);
    expect(completed.response.output_text).toBe('The answer.');
  });

  it('should resume a dropped stream with starting_after, from any point, while it runs', async () => {
    t.fake.script({ kind: 'streamSlow', chunkDelayMs: 40 });
    const created = await client.responses.create({
      model: ALIAS,
      input: 'a slow reply to resume',
      background: true,
    });
    expect(created.status).toBe('in_progress');
    const resumed = await collect(
      await client.responses.retrieve(created.id, { stream: true, starting_after: 4 }),
    );
    expect(resumed[0].sequence_number).toBe(5);
    expect(resumed.at(-1)?.type).toBe('response.completed');
    const whole = await collect(await client.responses.retrieve(created.id, { stream: true }));
    // The replay of the finished response numbers its events as the live stream did.
    expect(whole.slice(5)).toEqual(resumed);
    // The SDK's own resume reads the stream from the start and filters.
    const viaSdk = client.responses.stream({ response_id: created.id, starting_after: 4 });
    expect((await viaSdk.finalResponse()).output_text).toBe(
      'Echo: a slow reply to resume [messages=2]',
    );
  });

  it('should cancel a running response and store its partial text as cancelled', async () => {
    t.fake.script({ kind: 'endless' });
    const created = await client.responses.create({
      model: ALIAS,
      input: 'never stop',
      background: true,
    });
    await waitUntil(
      async () => (await client.responses.retrieve(created.id)).status === 'in_progress',
    );
    const cancelled = await client.responses.cancel(created.id);
    expect(cancelled.status).toBe('cancelled');
    expect((await client.responses.retrieve(created.id)).status).toBe('cancelled');
  });

  it('should list what the prompt held as input items', async () => {
    const first = await client.responses.create({ model: ALIAS, input: 'first words' });
    const second = await client.responses.create({
      model: ALIAS,
      input: 'second words',
      previous_response_id: first.id,
    });
    const items = await client.responses.inputItems.list(second.id, { order: 'asc' });
    expect(items.data.map((item) => item.type === 'message' && item.role)).toEqual([
      'user',
      'assistant',
      'user',
    ]);
    expect(items.data[2]).toMatchObject({
      content: [{ type: 'input_text', text: 'second words' }],
    });
  });

  it('should take input items, storing the earlier ones before the turn', async () => {
    const response = await client.responses.create({
      model: ALIAS,
      input: [
        { role: 'developer', content: 'You are terse.' },
        { role: 'user', content: 'Hello' },
        { role: 'assistant', content: 'Hi!' },
        { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Bye' }] },
      ],
    });
    expect(response.output_text).toBe('Echo: Bye [messages=4]');
    expect(response.instructions).toBe('You are terse.');
  });

  it('should refuse remote image URLs and non-function tools with unsupported_input, naming them', async () => {
    const error = await apiError(
      client.responses.create({
        model: ALIAS,
        input: [
          {
            role: 'user',
            content: [{ type: 'input_image', image_url: 'https://x/y.png', detail: 'auto' }],
          },
        ],
      }),
    );
    expect(error.status).toBe(400);
    expect(error.code).toBe('unsupported_input');
    expect(error.message).toContain('image_url: this server never fetches remote URLs');
    const tools = await apiError(
      client.responses.create({
        model: ALIAS,
        input: 'hi',
        tools: [{ type: 'web_search' }],
      }),
    );
    expect(tools.status).toBe(400);
    expect(tools.code).toBe('unsupported_input');
    expect(tools.message).toContain('web_search');
    const choice = await apiError(
      client.responses.create({
        model: ALIAS,
        input: 'hi',
        tool_choice: { type: 'web_search_preview' },
      }),
    );
    expect(choice.code).toBe('unsupported_input');
    expect(choice.message).toContain('tool_choice web_search_preview');
  });

  it('should answer store: false without storing anything', async () => {
    const before = await t.prisma.message.count();
    const response = await client.responses.create({
      model: ALIAS,
      input: 'ephemeral',
      store: false,
    });
    expect(response).toMatchObject({ status: 'completed', store: false, conversation: null });
    expect(response.output_text).toBe('Echo: ephemeral [messages=1]');
    const streamed = await collect(
      await client.responses.create({
        model: ALIAS,
        input: 'ephemeral stream',
        store: false,
        stream: true,
      }),
    );
    expect(streamed.at(-1)?.type).toBe('response.completed');
    expect(await t.prisma.message.count()).toBe(before);
    expect((await apiError(client.responses.retrieve(response.id))).status).toBe(404);
  });

  it("should answer an unknown response id as not found, in OpenAI's error shape", async () => {
    const error = await apiError(client.responses.retrieve('resp_' + '0'.repeat(32)));
    expect(error.status).toBe(404);
    expect(error.code).toBe('response_not_found');
    expect(error.error).toMatchObject({ type: 'invalid_request_error' });
  });

  it('should answer a second concurrent response on one conversation with conversation_busy', async () => {
    t.fake.script({ kind: 'streamSlow', chunkDelayMs: 30 });
    const conversation = await client.conversations.create({});
    const running = await client.responses.create({
      model: ALIAS,
      input: 'slow',
      conversation: conversation.id,
      background: true,
    });
    const error = await apiError(
      client.responses.create({ model: ALIAS, input: 'again', conversation: conversation.id }),
    );
    expect(error.status).toBe(409);
    expect(error.code).toBe('conversation_busy');
    expect(error.error).toMatchObject({ type: 'invalid_request_error' });
    await client.responses.cancel(running.id);
  });

  it('should replay a response for a retry with the same Idempotency-Key', async () => {
    const keyed = sdk(t, { 'Idempotency-Key': 'responses-retry-1' });
    const first = await keyed.responses.create({ model: ALIAS, input: 'only once' });
    const again = await keyed.responses.create({ model: ALIAS, input: 'only once' });
    expect(again.id).toBe(first.id);
    const conversations = await t.http.get(CONVERSATIONS).expect(200);
    const withIt = conversations.body.data.filter(
      (c: { id: string }) => c.id === uuidOf(first.conversation!.id),
    );
    expect(withIt).toHaveLength(1);
    const items = await client.conversations.items.list(first.conversation!.id);
    expect(items.data).toHaveLength(2);
  });

  it('should serve conversations and their items on the same rows as /api/v1', async () => {
    const conversation = await client.conversations.create({
      metadata: { topic: 'demo' },
      items: [{ type: 'message', role: 'user', content: 'Remember the number 42' }],
    });
    expect(conversation).toMatchObject({ object: 'conversation', metadata: { topic: 'demo' } });
    expect(conversation.id).toMatch(/^conv_[0-9a-f]{32}$/);
    const listed = await t.http.get(CONVERSATIONS).expect(200);
    expect(listed.body.data.map((c: { id: string }) => c.id)).toContain(uuidOf(conversation.id));

    await client.conversations.items.create(conversation.id, {
      items: [{ type: 'message', role: 'assistant', content: 'Noted.' }],
    });
    const reply = await client.responses.create({
      model: ALIAS,
      input: 'Which number?',
      conversation: conversation.id,
    });
    expect(reply.output_text).toBe('Echo: Which number? [messages=4]');
    const items = await client.conversations.items.list(conversation.id, { order: 'asc' });
    expect(items.data.map((i) => i.type === 'message' && i.role)).toEqual([
      'user',
      'assistant',
      'user',
      'assistant',
    ]);
    const newest = await client.conversations.items.list(conversation.id, { limit: 1 });
    expect(newest.data[0].id).toBe(`msg_${reply.id.slice(5)}`);
    expect(newest.has_more).toBe(true);

    const updated = await client.conversations.update(conversation.id, {
      metadata: { topic: 'numbers' },
    });
    expect(updated.metadata).toEqual({ topic: 'numbers' });
    const deleted = await client.conversations.delete(conversation.id);
    expect(deleted).toMatchObject({ deleted: true, id: conversation.id });
    await t.http.get(`${CONVERSATIONS}/${uuidOf(conversation.id)}`).expect(404);
  });

  it('should pass text.format and max_output_tokens to the turn, ending incomplete at the limit', async () => {
    const json = await client.responses.create({
      model: ALIAS,
      input: 'as json',
      text: {
        format: { type: 'json_schema', name: 'answer', schema: { type: 'object' }, strict: true },
      },
    });
    expect(json.text?.format).toMatchObject({ type: 'json_schema', name: 'answer' });
    expect(t.fake.requests.at(-1)?.body.response_format).toEqual({
      type: 'json_schema',
      json_schema: { name: 'answer', schema: { type: 'object' }, strict: true },
    });
    const cut = await collect(
      await client.responses.create({
        model: ALIAS,
        input: 'a b c d e f g h',
        max_output_tokens: 2,
        stream: true,
      }),
    );
    const last = cut.at(-1) as Extract<ResponseStreamEvent, { type: 'response.incomplete' }>;
    expect(last.type).toBe('response.incomplete');
    expect(last.response).toMatchObject({
      status: 'incomplete',
      incomplete_details: { reason: 'max_output_tokens' },
    });
  });

  it('should delete a response at the end of its branch only, and items the same way', async () => {
    const first = await client.responses.create({ model: ALIAS, input: 'keep' });
    const second = await client.responses.create({
      model: ALIAS,
      input: 'drop',
      previous_response_id: first.id,
    });
    const refused = await apiError(client.responses.delete(first.id));
    expect([refused.status, refused.code]).toEqual([409, 'message_has_replies']);
    await client.responses.delete(second.id);
    expect((await apiError(client.responses.retrieve(second.id))).status).toBe(404);
    const conversation = first.conversation!.id;
    const items = await client.conversations.items.list(conversation, { order: 'asc' });
    expect(items.data).toHaveLength(2);
    // The conversation goes on from where it now ends.
    const next = await client.responses.create({ model: ALIAS, input: 'after', conversation });
    expect(next.output_text).toBe('Echo: after [messages=4]');
    await client.conversations.items.delete(`msg_${next.id.slice(5)}`, {
      conversation_id: conversation,
    });
    const left = await client.conversations.items.list(conversation);
    expect(left.data[0]).toMatchObject({
      role: 'user',
      content: [{ type: 'input_text', text: 'after' }],
    });
    const item = await client.conversations.items.retrieve(left.data[0].id!, {
      conversation_id: conversation,
    });
    expect(item).toMatchObject({ type: 'message', role: 'user' });
  });

  it('should replay a streamed response for a keyed retry continuing a response', async () => {
    const first = await client.responses.create({ model: ALIAS, input: 'base' });
    const keyed = sdk(t, { 'Idempotency-Key': 'responses-retry-2' });
    const body = {
      model: ALIAS,
      input: 'keyed follow-up',
      previous_response_id: first.id,
      stream: true,
    } as const;
    const once = await collect(await keyed.responses.create(body));
    const again = await collect(await keyed.responses.create(body));
    const idOf = (events: ResponseStreamEvent[]) =>
      (events[0] as Extract<ResponseStreamEvent, { type: 'response.created' }>).response.id;
    expect(idOf(again)).toBe(idOf(once));
    expect(again.at(-1)?.type).toBe('response.completed');
    const items = await client.conversations.items.list(first.conversation!.id);
    expect(items.data).toHaveLength(4);
  });

  describe('between owners', () => {
    const keys = { alice: generateApiKey(), bob: generateApiKey() };
    const owners = withTestApp({
      env: {
        LMSTUDIO_MODEL: 'fake-model',
        AUTH_MODE: 'api-key',
        API_KEYS: Object.entries(keys)
          .map(([owner, key]) => `${owner}:${hashApiKey(key).toString('hex')}`)
          .join(','),
      },
    });

    it("should answer another owner's responses, conversations and items as not found", async () => {
      const alice = sdk(owners, undefined, keys.alice);
      const bob = sdk(owners, undefined, keys.bob);
      const response = await alice.responses.create({ model: ALIAS, input: 'mine' });
      const conversation = response.conversation!.id;
      const item = `msg_${response.id.slice(5)}`;
      const attempts: [string, () => Promise<unknown>][] = [
        ['retrieve', () => bob.responses.retrieve(response.id)],
        ['cancel', () => bob.responses.cancel(response.id)],
        ['delete', () => bob.responses.delete(response.id)],
        ['input items', () => bob.responses.inputItems.list(response.id)],
        [
          'continue',
          () =>
            bob.responses.create({ model: ALIAS, input: 'x', previous_response_id: response.id }),
        ],
        ['append', () => bob.responses.create({ model: ALIAS, input: 'x', conversation })],
        [
          'reference',
          () =>
            bob.responses.create({
              model: ALIAS,
              input: [
                { type: 'item_reference', id: item },
                { role: 'user', content: 'x' },
              ],
            }),
        ],
        ['conversation', () => bob.conversations.retrieve(conversation)],
        ['metadata', () => bob.conversations.update(conversation, { metadata: { a: 'b' } })],
        ['items', () => bob.conversations.items.list(conversation)],
        ['item', () => bob.conversations.items.retrieve(item, { conversation_id: conversation })],
        [
          'add items',
          () =>
            bob.conversations.items.create(conversation, {
              items: [{ type: 'message', role: 'user', content: 'x' }],
            }),
        ],
        [
          'delete item',
          () => bob.conversations.items.delete(item, { conversation_id: conversation }),
        ],
        ['delete conversation', () => bob.conversations.delete(conversation)],
      ];
      for (const [what, attempt] of attempts) {
        const error = await apiError(attempt());
        expect([what, error.status]).toEqual([what, 404]);
      }
      expect((await alice.responses.retrieve(response.id)).output_text).toBe(
        'Echo: mine [messages=2]',
      );
      expect((await alice.conversations.items.list(conversation)).data).toHaveLength(2);
    });
  });
});
