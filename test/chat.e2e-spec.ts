import { newId } from '../src/common/ids';
import { countTokensConservatively } from '../src/prompts/token-counter';
import { CONVERSATIONS as BASE, CLOSED_PROVIDER_URL, withTestApp } from './utils/harness';
import { seedPath } from './utils/seed';

describe('ChatService (whole replies)', () => {
  const t = withTestApp({
    groq: 'same-fake',
    models: [
      {
        alias: 'lmstudio/small',
        provider: 'lmstudio',
        model: 'fake-model',
        contextWindow: 600,
        maxOutputTokens: 100,
      },
    ],
    env: { LLM_TIMEOUT_MS: '800', MESSAGE_MAX_CHARS: '5000' },
  });

  describe('memory', () => {
    it('should send the earlier turns, in order, with the next message', async () => {
      const id = await t.createConversation({ systemPrompt: 'You are terse.' });
      const first = await t.send(id, 'My name is Ada.');
      expect(first.body.response).toBe('Echo: My name is Ada. [messages=2]');
      await t.send(id, 'What is my name?');

      const second = t.fake.requests[1].body;
      expect(second.messages).toEqual([
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'My name is Ada.' },
        { role: 'assistant', content: 'Echo: My name is Ada. [messages=2]' },
        { role: 'user', content: 'What is my name?' },
      ]);
      // LMSTUDIO_MODEL is unset, so lmstudio/default used the first model the server lists.
      expect(second.model).toBe('fake-model');
    });

    it('should answer with the stored turn: messages, usage, timings', async () => {
      const id = await t.createConversation();
      const res = await t.send(id, 'hello there');
      expect(res.body).toMatchObject({
        response: 'Echo: hello there [messages=2]',
        model: 'lmstudio/default',
        userMessage: { role: 'user', content: 'hello there', status: 'complete', seq: 0 },
        assistantMessage: {
          role: 'assistant',
          status: 'complete',
          seq: 1,
          upstreamModel: 'fake-model',
          finishReason: 'stop',
          usage: { estimated: false },
        },
        latencyMs: expect.any(Number),
      });
      expect(res.body.usage.promptTokens).toBeGreaterThan(0);
      expect(res.body.usage.completionTokens).toBe(4); // the fake's pieces: 'Echo:', ' hello', ' there', ' [messages=2]'
      const rows = await t.storedMessages(id);
      expect(rows.map((m) => [m.role, m.status])).toEqual([
        ['user', 'complete'],
        ['assistant', 'complete'],
      ]);
      expect(rows[0].tokenCount).toBeGreaterThan(0);
      expect(rows[1].ttftMs).not.toBeNull();
      // The default system prompt applies when the conversation has none.
      expect(t.fake.requests[0].body.messages[0]).toMatchObject({ role: 'system' });
    });

    it("should give a turn's messages ids and true times in conversation order", async () => {
      /** An ISO time in microseconds: the API writes the digits past the millisecond. */
      const micros = (iso: string): bigint =>
        BigInt(Date.parse(iso)) * 1000n +
        BigInt((/\.\d{3}(\d{0,3})Z$/.exec(iso)?.[1] ?? '').padEnd(3, '0'));
      /** A UUIDv7's time: its first 48 bits, milliseconds since the epoch. */
      const uuidTime = (id: string): number => parseInt(id.replace(/-/g, '').slice(0, 12), 16);
      const id = await t.createConversation();
      for (const message of ['one', 'two', 'three']) {
        const { userMessage: user, assistantMessage: reply } = (await t.send(id, message)).body;
        expect(user.id < reply.id).toBe(true);
        expect(uuidTime(user.id)).toBeLessThanOrEqual(uuidTime(reply.id));
        expect(micros(user.createdAt)).toBeLessThan(micros(reply.createdAt));
        expect(user.completedAt).toBe(user.createdAt);
        expect(micros(reply.completedAt)).toBeGreaterThan(micros(reply.createdAt));
      }
      const page = await t.http.get(`${BASE}/${id}/messages`).expect(200);
      const messages = page.body.data as { id: string; createdAt: string; completedAt: string }[];
      expect(messages.map((m) => m.id)).toEqual(messages.map((m) => m.id).sort());
      const times = messages.map((m) => micros(m.createdAt));
      times.slice(1).forEach((time, i) => expect(time).toBeGreaterThan(times[i]));
      expect(messages.every((m) => m.completedAt !== null)).toBe(true);
    });

    it('should trim a 300-turn history to the budget, newest first, keeping the system prompt', async () => {
      const id = await t.createConversation({ model: 'lmstudio/small', systemPrompt: 'Sys.' });
      await seedPath(
        t.prisma,
        id,
        Array.from({ length: 600 }, (_, seq) => ({
          role: seq % 2 === 0 ? ('user' as const) : ('assistant' as const),
          content: `message number ${seq} with a few words`,
          tokenCount: 12,
        })),
      );

      await t.send(id, 'latest question');
      const sent = t.fake.requests[0].body.messages;
      expect(sent[0]).toEqual({ role: 'system', content: 'Sys.' });
      expect(sent.at(-1)).toEqual({ role: 'user', content: 'latest question' });
      const history = sent.slice(1, -1).map((m) => m.content as string);
      // Window 600 − reply 100 − priming 3 − (system + 4) − (new message + 4), in messages of 12 + 4 tokens.
      const room =
        600 -
        100 -
        3 -
        (countTokensConservatively('Sys.') + 4) -
        (countTokensConservatively('latest question') + 4);
      const fit = Math.floor(room / 16);
      expect(fit).toBeGreaterThan(20);
      expect(history.length).toBe(fit);
      expect(history.at(-1)).toBe('message number 599 with a few words');
      expect(history[0]).toBe(`message number ${600 - fit} with a few words`);
      expect(t.fake.requests[0].body.max_tokens).toBe(100);
    });
  });

  describe('models and params', () => {
    it("should apply the conversation's params and let one turn override them", async () => {
      const id = await t.createConversation({ params: { temperature: 0.3, maxTokens: 50 } });
      await t.send(id, 'a');
      expect(t.fake.requests[0].body).toMatchObject({ temperature: 0.3, max_tokens: 50 });
      await t.send(id, 'b', { params: { temperature: 0.9, seed: 4 } });
      expect(t.fake.requests[1].body).toMatchObject({ temperature: 0.9, max_tokens: 50, seed: 4 });
    });

    it('should complete a turn through the Groq SDK when a turn asks for a Groq alias', async () => {
      const id = await t.createConversation();
      const res = await t.send(id, 'via groq', { model: 'groq/llama-3.3-70b' });
      expect(res.body.model).toBe('groq/llama-3.3-70b');
      expect(t.fake.requests[0].path).toBe('/openai/v1/chat/completions');
      expect(t.fake.requests[0].headers.authorization).toBe('Bearer test-groq-key');
      expect(t.fake.requests[0].body.model).toBe('llama-3.3-70b-versatile');
    });

    it('should list aliases with their availability and no keys', async () => {
      const res = await t.http.get('/api/v1/models').expect(200);
      const byAlias = Object.fromEntries(res.body.data.map((m: { alias: string }) => [m.alias, m]));
      expect(byAlias['lmstudio/default']).toMatchObject({ available: true, default: true });
      expect(byAlias['groq/llama-3.3-70b']).toMatchObject({ available: true, provider: 'groq' });
      expect(byAlias['lmstudio/small']).toMatchObject({ contextWindow: 600 });
      expect(JSON.stringify(res.body)).not.toContain('test-groq-key');
    });

    it('should refuse unknown aliases on turns, creation and updates', async () => {
      const id = await t.createConversation();
      const turn = await t.send(id, 'x', { model: 'nope/nothing', expect: 400 });
      expect(turn.body.error).toBe('unknown_model');
      await t.http.post(BASE).send({ model: 'nope/nothing' }).expect(400);
      await t.http.patch(`${BASE}/${id}`).send({ model: 'nope/nothing' }).expect(400);
      expect(t.fake.requests).toHaveLength(0);
    });
  });

  describe('bad input', () => {
    it('should refuse empty, blank, mistyped and oversized messages without storing anything', async () => {
      const id = await t.createConversation();
      for (const body of [
        {},
        { message: '' },
        { message: '   ' },
        { message: 42 },
        { message: 'x'.repeat(5001) },
      ]) {
        const res = await t.http.post(`${BASE}/${id}/messages`).send(body);
        expect(res.status).toBe(400);
        expect(res.body.error).toBe('validation_failed');
      }
      expect(await t.storedMessages(id)).toHaveLength(0);
      expect(t.fake.requests).toHaveLength(0);
    });

    it('should answer 422 message_too_long when the message alone cannot fit, and stay usable', async () => {
      const id = await t.createConversation({ model: 'lmstudio/small' });
      const res = await t.send(id, 'word '.repeat(900), { expect: 422 });
      expect(res.body.error).toBe('message_too_long');
      expect(await t.storedMessages(id)).toHaveLength(0);
      await t.send(id, 'short');
    });

    it('should answer 404 for an unknown conversation', async () => {
      const res = await t.http
        .post(`${BASE}/${newId()}/messages`)
        .send({ message: 'hi' })
        .expect(404);
      expect(res.body.error).toBe('conversation_not_found');
    });
  });

  describe('provider failures', () => {
    it('should retry a 429 after its Retry-After and answer once', async () => {
      t.fake.script({ kind: 'error', status: 429, retryAfter: '1' });
      const id = await t.createConversation();
      const res = await t.send(id, 'retry me');
      expect(res.body.response).toContain('retry me');
      expect(t.fake.requests).toHaveLength(2);
      // Waited for Retry-After (1 s), not the backoff (at most 250 ms for a first retry).
      const [refused, retried] = t.fake.requests;
      expect(retried.receivedAt - refused.receivedAt).toBeGreaterThanOrEqual(800);
      expect(await t.storedMessages(id)).toHaveLength(2);
    });

    it('should not retry a 401 and answer 502 provider_auth_failed, keeping the user message', async () => {
      t.fake.script({ kind: 'error', status: 401 });
      const id = await t.createConversation();
      const res = await t.send(id, 'secret?', { expect: 502 });
      expect(res.body.error).toBe('provider_auth_failed');
      expect(t.fake.requests).toHaveLength(1);
      const rows = await t.storedMessages(id);
      expect(rows.map((m) => [m.role, m.status, m.errorCode])).toEqual([
        ['user', 'complete', null],
        ['assistant', 'failed', 'provider_auth_failed'],
      ]);
      await t.send(id, 'again');
      // The failed reply is not part of the next prompt; the user message is.
      expect(t.fake.requests[1].body.messages.map((m) => m.content)).toEqual([
        expect.any(String),
        'secret?',
        'again',
      ]);
    });

    it('should retry 5xx and give up with 502 provider_error after LLM_MAX_RETRIES', async () => {
      t.fake.script(
        { kind: 'error', status: 500 },
        { kind: 'error', status: 502 },
        { kind: 'error', status: 500 },
      );
      const id = await t.createConversation();
      const res = await t.send(id, 'x', { expect: 502 });
      expect(res.body.error).toBe('provider_error');
      expect(t.fake.requests).toHaveLength(3);
    });

    it('should answer 504 provider_timeout when the provider hangs, then accept the next turn', async () => {
      t.fake.script({ kind: 'hang' });
      const id = await t.createConversation();
      const res = await t.send(id, 'hello?', { expect: 504 });
      expect(res.body.error).toBe('provider_timeout');
      expect(res.body.message).toContain('800 ms');
      expect(res.body.message).toContain('LLM_TIMEOUT_MS');
      const [hung] = await t.fake.waitFor((requests) => requests[0]?.endedAt !== undefined);
      // One attempt, aborted by the app once LLM_TIMEOUT_MS (800 ms) passed; a timeout is not retried.
      expect(t.fake.requests).toHaveLength(1);
      expect(hung.aborted).toBe(true);
      expect(hung.endedAt! - hung.receivedAt).toBeGreaterThanOrEqual(700);
      expect((await t.storedMessages(id)).map((m) => m.status)).toEqual(['complete', 'failed']);
      await t.send(id, 'next');
    });

    it('should split <think> reasoning from the answer', async () => {
      const id = await t.createConversation();
      const res = await t.send(id, '/think hard');
      expect(res.body.response).toBe('The answer.');
      expect(res.body.assistantMessage.reasoning).toBe('reasoning here');
    });
  });

  describe('concurrency', () => {
    it('should let exactly one of two concurrent turns on a conversation run; the other gets 409', async () => {
      let release!: () => void;
      const until = new Promise<void>((resolve) => (release = resolve));
      t.fake.script({ kind: 'held', until }, { kind: 'held', until });
      const id = await t.createConversation();
      // The winner is held at the provider until the loser has its answer, however slow the machine.
      const turn = (message: string) =>
        t.http
          .post(`${BASE}/${id}/messages`)
          .send({ message })
          .then((res) => {
            if (res.status !== 201) release();
            return res;
          });
      const results = await Promise.all([turn('one'), turn('two')]);
      expect(results.map((r) => r.status).sort()).toEqual([201, 409]);
      expect(results.find((r) => r.status === 409)?.body.error).toBe('conversation_busy');
      expect(await t.storedMessages(id)).toHaveLength(2);
      await t.send(id, 'three');
    });

    it('should run turns on different conversations in parallel', async () => {
      const ids = await Promise.all([
        t.createConversation(),
        t.createConversation(),
        t.createConversation(),
      ]);
      let release!: () => void;
      const until = new Promise<void>((resolve) => (release = resolve));
      t.fake.script(...ids.map(() => ({ kind: 'held' as const, until })));
      const replies = Promise.all(ids.map((id) => t.send(id, 'go')));
      // All three reach the provider while none has been answered: none waits for another.
      await t.fake.waitForRequests(3);
      expect(t.fake.requests.filter((r) => r.completed)).toHaveLength(0);
      release();
      expect((await replies).map((r) => r.status)).toEqual([201, 201, 201]);
    });
  });

  describe('idempotency', () => {
    it('should return the original turn for a retry with the same key and body', async () => {
      const id = await t.createConversation();
      const send = () => t.send(id, 'only once', { headers: { 'Idempotency-Key': 'key-1' } });
      const first = await send();
      const second = await send();
      expect(second.body).toEqual(first.body);
      expect(t.fake.requests).toHaveLength(1);
      expect(await t.storedMessages(id)).toHaveLength(2);
    });

    it('should answer 422 idempotency_key_reused for the same key with another body', async () => {
      const id = await t.createConversation();
      await t.send(id, 'a', { headers: { 'Idempotency-Key': 'key-2' } });
      const res = await t.send(id, 'b', { headers: { 'Idempotency-Key': 'key-2' }, expect: 422 });
      expect(res.body.error).toBe('idempotency_key_reused');
      expect(await t.storedMessages(id)).toHaveLength(2);
    });

    it('should replay a failed turn as the same error without calling the provider again', async () => {
      t.fake.script({ kind: 'error', status: 401 });
      const id = await t.createConversation();
      const send = () => t.send(id, 'x', { headers: { 'Idempotency-Key': 'key-3' }, expect: 502 });
      await send();
      const again = await send();
      expect(again.body.error).toBe('provider_auth_failed');
      expect(t.fake.requests).toHaveLength(1);
    });
  });
});

describe('ChatService with no provider listening', () => {
  const t = withTestApp({
    fake: false,
    env: { LMSTUDIO_BASE_URL: CLOSED_PROVIDER_URL, LMSTUDIO_MODEL: 'any', LLM_MAX_RETRIES: '1' },
  });

  it('should answer 503 provider_unavailable naming the URL, and keep the user message', async () => {
    const id = await t.createConversation();
    const res = await t.send(id, 'anyone?', { expect: 503 });
    expect(res.body.error).toBe('provider_unavailable');
    expect(res.body.message).toContain('http://127.0.0.1:9/v1');
    expect(res.body.message).toContain('LMSTUDIO_BASE_URL');
    const rows = await t.storedMessages(id);
    expect(rows.map((m) => m.status)).toEqual(['complete', 'failed']);
    const models = await t.http.get('/api/v1/models').expect(200);
    expect(
      models.body.data.find((m: { alias: string }) => m.alias === 'lmstudio/default'),
    ).toMatchObject({
      available: false,
    });
  });
});
