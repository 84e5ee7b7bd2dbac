import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { newId } from '../src/common/ids';
import { countTokensConservatively } from '../src/prompts/token-counter';
import { FakeLlmServer } from './fake-llm/fake-llm-server';
import { createTestDatabase, TestDatabase } from './utils/database';
import { startTestApp, TestApp } from './utils/test-app';

const BASE = '/api/v1/conversations';

function modelsFile(): string {
  const file = path.join(os.tmpdir(), `models-${newId()}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      models: [
        {
          alias: 'lmstudio/small',
          provider: 'lmstudio',
          model: 'fake-model',
          contextWindow: 600,
          maxOutputTokens: 100,
        },
      ],
    }),
  );
  return file;
}

describe('ChatService (whole replies)', () => {
  let db: TestDatabase;
  let fake: FakeLlmServer;
  let t: TestApp;

  beforeAll(async () => {
    db = await createTestDatabase();
    fake = new FakeLlmServer({ models: ['fake-model', 'llama-3.3-70b-versatile'] });
    await fake.start();
    t = await startTestApp(db.url, {
      LMSTUDIO_BASE_URL: fake.openAiBaseUrl,
      GROQ_API_KEY: 'test-groq-key',
      GROQ_BASE_URL: fake.url,
      DEFAULT_MODEL: 'lmstudio/default',
      MODELS_FILE: modelsFile(),
      LLM_TIMEOUT_MS: '800',
      MESSAGE_MAX_CHARS: '5000',
    });
  });

  afterAll(async () => {
    await t?.close();
    await fake?.stop();
    await db?.drop();
  });

  beforeEach(() => fake.reset());

  async function conversation(body: Record<string, unknown> = {}): Promise<string> {
    return (await t.http.post(BASE).send(body).expect(201)).body.id as string;
  }

  async function storedMessages(id: string) {
    return t.prisma.message.findMany({ where: { conversationId: id }, orderBy: { seq: 'asc' } });
  }

  describe('memory', () => {
    it('should send the earlier turns, in order, with the next message', async () => {
      const id = await conversation({ systemPrompt: 'You are terse.' });
      const first = await t.http
        .post(`${BASE}/${id}/messages`)
        .send({ message: 'My name is Ada.' })
        .expect(201);
      expect(first.body.response).toBe('Echo: My name is Ada. [messages=2]');
      await t.http.post(`${BASE}/${id}/messages`).send({ message: 'What is my name?' }).expect(201);

      const second = fake.requests[1].body;
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
      const id = await conversation();
      const res = await t.http
        .post(`${BASE}/${id}/messages`)
        .send({ message: 'hello there' })
        .expect(201);
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
      const rows = await storedMessages(id);
      expect(rows.map((m) => [m.role, m.status])).toEqual([
        ['user', 'complete'],
        ['assistant', 'complete'],
      ]);
      expect(rows[0].tokenCount).toBeGreaterThan(0);
      expect(rows[1].ttftMs).not.toBeNull();
      // The default system prompt applies when the conversation has none.
      expect(fake.requests[0].body.messages[0]).toMatchObject({ role: 'system' });
    });

    it('should trim a 300-turn history to the budget, newest first, keeping the system prompt', async () => {
      const id = await conversation({ model: 'lmstudio/small', systemPrompt: 'Sys.' });
      await t.prisma.message.createMany({
        data: Array.from({ length: 600 }, (_, seq) => ({
          id: newId(),
          conversationId: id,
          seq,
          role: seq % 2 === 0 ? ('user' as const) : ('assistant' as const),
          content: `message number ${seq} with a few words`,
          tokenCount: 12,
        })),
      });
      await t.prisma.conversation.update({ where: { id }, data: { nextSeq: 600 } });

      await t.http.post(`${BASE}/${id}/messages`).send({ message: 'latest question' }).expect(201);
      const sent = fake.requests[0].body.messages;
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
      expect(fake.requests[0].body.max_tokens).toBe(100);
    });
  });

  describe('models and params', () => {
    it("should apply the conversation's params and let one turn override them", async () => {
      const id = await conversation({ params: { temperature: 0.3, maxTokens: 50 } });
      await t.http.post(`${BASE}/${id}/messages`).send({ message: 'a' }).expect(201);
      expect(fake.requests[0].body).toMatchObject({ temperature: 0.3, max_tokens: 50 });
      await t.http
        .post(`${BASE}/${id}/messages`)
        .send({ message: 'b', params: { temperature: 0.9, seed: 4 } })
        .expect(201);
      expect(fake.requests[1].body).toMatchObject({ temperature: 0.9, max_tokens: 50, seed: 4 });
    });

    it('should complete a turn through the Groq SDK when a turn asks for a Groq alias', async () => {
      const id = await conversation();
      const res = await t.http
        .post(`${BASE}/${id}/messages`)
        .send({ message: 'via groq', model: 'groq/llama-3.3-70b' })
        .expect(201);
      expect(res.body.model).toBe('groq/llama-3.3-70b');
      expect(fake.requests[0].path).toBe('/openai/v1/chat/completions');
      expect(fake.requests[0].headers.authorization).toBe('Bearer test-groq-key');
      expect(fake.requests[0].body.model).toBe('llama-3.3-70b-versatile');
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
      const id = await conversation();
      const turn = await t.http
        .post(`${BASE}/${id}/messages`)
        .send({ message: 'x', model: 'nope/nothing' })
        .expect(400);
      expect(turn.body.error).toBe('unknown_model');
      await t.http.post(BASE).send({ model: 'nope/nothing' }).expect(400);
      await t.http.patch(`${BASE}/${id}`).send({ model: 'nope/nothing' }).expect(400);
      expect(fake.requests).toHaveLength(0);
    });
  });

  describe('bad input', () => {
    it('should refuse empty, blank, mistyped and oversized messages without storing anything', async () => {
      const id = await conversation();
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
      expect(await storedMessages(id)).toHaveLength(0);
      expect(fake.requests).toHaveLength(0);
    });

    it('should answer 422 message_too_long when the message alone cannot fit, and stay usable', async () => {
      const id = await conversation({ model: 'lmstudio/small' });
      const res = await t.http
        .post(`${BASE}/${id}/messages`)
        .send({ message: 'word '.repeat(900) })
        .expect(422);
      expect(res.body.error).toBe('message_too_long');
      expect(await storedMessages(id)).toHaveLength(0);
      await t.http.post(`${BASE}/${id}/messages`).send({ message: 'short' }).expect(201);
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
      fake.script({ kind: 'error', status: 429, retryAfter: '1' });
      const id = await conversation();
      const started = Date.now();
      const res = await t.http
        .post(`${BASE}/${id}/messages`)
        .send({ message: 'retry me' })
        .expect(201);
      expect(Date.now() - started).toBeGreaterThanOrEqual(950);
      expect(res.body.response).toContain('retry me');
      expect(fake.requests).toHaveLength(2);
      expect(await storedMessages(id)).toHaveLength(2);
    });

    it('should not retry a 401 and answer 502 provider_auth_failed, keeping the user message', async () => {
      fake.script({ kind: 'error', status: 401 });
      const id = await conversation();
      const res = await t.http
        .post(`${BASE}/${id}/messages`)
        .send({ message: 'secret?' })
        .expect(502);
      expect(res.body.error).toBe('provider_auth_failed');
      expect(fake.requests).toHaveLength(1);
      const rows = await storedMessages(id);
      expect(rows.map((m) => [m.role, m.status, m.errorCode])).toEqual([
        ['user', 'complete', null],
        ['assistant', 'failed', 'provider_auth_failed'],
      ]);
      await t.http.post(`${BASE}/${id}/messages`).send({ message: 'again' }).expect(201);
      // The failed reply is not part of the next prompt; the user message is.
      expect(fake.requests[1].body.messages.map((m) => m.content)).toEqual([
        expect.any(String),
        'secret?',
        'again',
      ]);
    });

    it('should retry 5xx and give up with 502 provider_error after LLM_MAX_RETRIES', async () => {
      fake.script(
        { kind: 'error', status: 500 },
        { kind: 'error', status: 502 },
        { kind: 'error', status: 500 },
      );
      const id = await conversation();
      const res = await t.http.post(`${BASE}/${id}/messages`).send({ message: 'x' }).expect(502);
      expect(res.body.error).toBe('provider_error');
      expect(fake.requests).toHaveLength(3);
    });

    it('should answer 504 provider_timeout when the provider hangs, then accept the next turn', async () => {
      fake.script({ kind: 'hang' });
      const id = await conversation();
      const started = Date.now();
      const res = await t.http
        .post(`${BASE}/${id}/messages`)
        .send({ message: 'hello?' })
        .expect(504);
      expect(Date.now() - started).toBeGreaterThanOrEqual(750);
      expect(res.body.error).toBe('provider_timeout');
      expect(res.body.message).toContain('LLM_TIMEOUT_MS');
      await fake.waitForRequests(1);
      expect(fake.requests[0].aborted).toBe(true);
      expect((await storedMessages(id)).map((m) => m.status)).toEqual(['complete', 'failed']);
      await t.http.post(`${BASE}/${id}/messages`).send({ message: 'next' }).expect(201);
    });

    it('should split <think> reasoning from the answer', async () => {
      const id = await conversation();
      const res = await t.http
        .post(`${BASE}/${id}/messages`)
        .send({ message: '/think hard' })
        .expect(201);
      expect(res.body.response).toBe('The answer.');
      expect(res.body.assistantMessage.reasoning).toBe('reasoning here');
    });
  });

  describe('concurrency', () => {
    it('should let exactly one of two concurrent turns on a conversation run; the other gets 409', async () => {
      fake.script({ kind: 'slow', delayMs: 300 }, { kind: 'slow', delayMs: 300 });
      const id = await conversation();
      const results = await Promise.all([
        t.http.post(`${BASE}/${id}/messages`).send({ message: 'one' }),
        t.http.post(`${BASE}/${id}/messages`).send({ message: 'two' }),
      ]);
      expect(results.map((r) => r.status).sort()).toEqual([201, 409]);
      expect(results.find((r) => r.status === 409)?.body.error).toBe('conversation_busy');
      expect(await storedMessages(id)).toHaveLength(2);
      await t.http.post(`${BASE}/${id}/messages`).send({ message: 'three' }).expect(201);
    });

    it('should run turns on different conversations in parallel', async () => {
      const ids = await Promise.all([conversation(), conversation(), conversation()]);
      fake.script(...ids.map(() => ({ kind: 'slow' as const, delayMs: 400 })));
      const started = Date.now();
      const results = await Promise.all(
        ids.map((id) => t.http.post(`${BASE}/${id}/messages`).send({ message: 'go' })),
      );
      expect(results.map((r) => r.status)).toEqual([201, 201, 201]);
      expect(Date.now() - started).toBeLessThan(1150);
    });
  });

  describe('idempotency', () => {
    it('should return the original turn for a retry with the same key and body', async () => {
      const id = await conversation();
      const send = () =>
        t.http
          .post(`${BASE}/${id}/messages`)
          .set('Idempotency-Key', 'key-1')
          .send({ message: 'only once' });
      const first = await send().expect(201);
      const second = await send().expect(201);
      expect(second.body).toEqual(first.body);
      expect(fake.requests).toHaveLength(1);
      expect(await storedMessages(id)).toHaveLength(2);
    });

    it('should answer 422 idempotency_key_reused for the same key with another body', async () => {
      const id = await conversation();
      await t.http
        .post(`${BASE}/${id}/messages`)
        .set('Idempotency-Key', 'key-2')
        .send({ message: 'a' })
        .expect(201);
      const res = await t.http
        .post(`${BASE}/${id}/messages`)
        .set('Idempotency-Key', 'key-2')
        .send({ message: 'b' })
        .expect(422);
      expect(res.body.error).toBe('idempotency_key_reused');
      expect(await storedMessages(id)).toHaveLength(2);
    });

    it('should replay a failed turn as the same error without calling the provider again', async () => {
      fake.script({ kind: 'error', status: 401 });
      const id = await conversation();
      const send = () =>
        t.http
          .post(`${BASE}/${id}/messages`)
          .set('Idempotency-Key', 'key-3')
          .send({ message: 'x' });
      await send().expect(502);
      const again = await send().expect(502);
      expect(again.body.error).toBe('provider_auth_failed');
      expect(fake.requests).toHaveLength(1);
    });
  });
});

describe('ChatService with no provider listening', () => {
  it('should answer 503 provider_unavailable naming the URL, and keep the user message', async () => {
    const db = await createTestDatabase();
    const t = await startTestApp(db.url, {
      LMSTUDIO_BASE_URL: 'http://127.0.0.1:9/v1',
      LMSTUDIO_MODEL: 'any',
      LLM_MAX_RETRIES: '1',
    });
    try {
      const id = (await t.http.post(BASE).send({}).expect(201)).body.id as string;
      const res = await t.http
        .post(`${BASE}/${id}/messages`)
        .send({ message: 'anyone?' })
        .expect(503);
      expect(res.body.error).toBe('provider_unavailable');
      expect(res.body.message).toContain('http://127.0.0.1:9/v1');
      expect(res.body.message).toContain('LMSTUDIO_BASE_URL');
      const rows = await t.prisma.message.findMany({
        where: { conversationId: id },
        orderBy: { seq: 'asc' },
      });
      expect(rows.map((m) => m.status)).toEqual(['complete', 'failed']);
      const models = await t.http.get('/api/v1/models').expect(200);
      expect(
        models.body.data.find((m: { alias: string }) => m.alias === 'lmstudio/default'),
      ).toMatchObject({
        available: false,
      });
    } finally {
      await t.close();
      await db.drop();
    }
  });
});
