import http from 'node:http';

import { createParser, EventSourceMessage } from 'eventsource-parser';

import { FakeLlmServer } from './fake-llm/fake-llm-server';
import { createTestDatabase, TestDatabase } from './utils/database';
import { startTestApp, TestApp } from './utils/test-app';

const BASE = '/api/v1/conversations';

interface StreamHandle {
  status: number;
  headers: http.IncomingHttpHeaders;
  events: EventSourceMessage[];
  comments: string[];
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  /** Resolves once an event of this type has arrived. */
  waitFor(type: string): Promise<EventSourceMessage>;
  /** Closes the connection from the client side. */
  disconnect(): void;
}

/** POSTs over a real socket and parses the SSE stream with a real parser as it arrives. */
function openStream(origin: string, path: string, body: unknown): Promise<StreamHandle> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${origin}${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream' },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      const events: EventSourceMessage[] = [];
      const comments: string[] = [];
      const waiters: { type: string; resolve: (e: EventSourceMessage) => void }[] = [];
      const parser = createParser({
        onEvent: (event) => {
          events.push(event);
          for (const w of waiters.filter((w) => w.type === event.event)) w.resolve(event);
        },
        onComment: (comment) => comments.push(comment),
      });
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => parser.feed(chunk));
      const ended = new Promise<void>((done) => res.on('close', () => done()));
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        events,
        comments,
        ended,
        waitFor: (type) =>
          new Promise((found) => {
            const seen = events.find((e) => e.event === type);
            if (seen) found(seen);
            else waiters.push({ type, resolve: found });
          }),
        disconnect: () => req.destroy(),
      });
    });
    req.end(JSON.stringify(body));
  });
}

async function until(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('Streaming replies (SSE)', () => {
  let db: TestDatabase;
  let fake: FakeLlmServer;
  let t: TestApp;

  beforeAll(async () => {
    db = await createTestDatabase();
    fake = new FakeLlmServer({ models: ['fake-model', 'llama-3.3-70b-versatile'] });
    await fake.start();
    t = await startTestApp(db.url, {
      LMSTUDIO_BASE_URL: fake.openAiBaseUrl,
      LMSTUDIO_MODEL: 'fake-model',
      GROQ_API_KEY: 'k',
      GROQ_BASE_URL: fake.url,
      DEFAULT_MODEL: 'lmstudio/default',
      LLM_TIMEOUT_MS: '2000',
      SSE_HEARTBEAT_MS: '100',
    });
  });

  afterAll(async () => {
    await t?.close();
    await fake?.stop();
    await db?.drop();
  });

  beforeEach(() => fake.reset());

  async function conversation(): Promise<string> {
    return (await t.http.post(BASE).send({}).expect(201)).body.id as string;
  }

  async function messages(id: string) {
    return t.prisma.message.findMany({ where: { conversationId: id }, orderBy: { seq: 'asc' } });
  }

  it('should stream created, deltas and completed with increasing ids; deltas add up to the stored reply', async () => {
    const id = await conversation();
    const stream = await openStream(t.url, `${BASE}/${id}/messages/stream`, {
      message: 'stream this please',
    });
    await stream.ended;
    expect(stream.status).toBe(200);
    expect(stream.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(stream.headers['cache-control']).toContain('no-cache');
    expect(stream.headers['x-accel-buffering']).toBe('no');
    expect(stream.headers['content-encoding']).toBeUndefined();

    const types = stream.events.map((e) => e.event);
    expect(types[0]).toBe('message.created');
    expect(types.at(-1)).toBe('message.completed');
    expect(types.slice(1, -1).every((type) => type === 'message.delta')).toBe(true);
    expect(types.length).toBeGreaterThan(4);
    const ids = stream.events.map((e) => Number(e.id));
    ids.forEach((value, i) => i > 0 && expect(value).toBeGreaterThan(ids[i - 1]));

    const deltas = stream.events
      .filter((e) => e.event === 'message.delta')
      .map((e) => JSON.parse(e.data).delta as string);
    const completed = JSON.parse(stream.events.at(-1)!.data);
    const stored = await messages(id);
    expect(deltas.join('')).toBe('Echo: stream this please [messages=2]');
    expect(stored[1]).toMatchObject({
      status: 'complete',
      content: deltas.join(''),
      usageEstimated: false,
    });
    expect(stored[1].ttftMs).not.toBeNull();
    expect(completed.assistantMessage.id).toBe(stored[1].id);
    expect(completed.usage).toMatchObject({ completionTokens: 5, estimated: false });
    expect(JSON.parse(stream.events[0].data).assistantMessageId).toBe(stored[1].id);
    // Usage was asked for, so the provider's own count is stored.
    expect(fake.requests[0].body.stream_options).toEqual({ include_usage: true });
  });

  it('should estimate usage locally when the server sends none', async () => {
    fake.script({ kind: 'reply', content: 'no usage here', usage: null });
    const id = await conversation();
    const stream = await openStream(t.url, `${BASE}/${id}/messages/stream`, { message: 'x' });
    await stream.ended;
    const stored = await messages(id);
    expect(stored[1]).toMatchObject({ content: 'no usage here', usageEstimated: true });
    expect(stored[1].completionTokens).toBeGreaterThan(0);
  });

  it('should keep <think> reasoning out of message.delta and send it as message.reasoning', async () => {
    const id = await conversation();
    const stream = await openStream(t.url, `${BASE}/${id}/messages/stream`, {
      message: '/think now',
    });
    await stream.ended;
    const text = (type: string) =>
      stream.events
        .filter((e) => e.event === type)
        .map((e) => JSON.parse(e.data).delta as string)
        .join('');
    expect(text('message.delta')).toBe('The answer.');
    expect(text('message.reasoning')).toBe('reasoning here');
    expect((await messages(id))[1]).toMatchObject({
      content: 'The answer.',
      reasoning: 'reasoning here',
    });
  });

  it('should send heartbeat comments while the provider is silent', async () => {
    fake.script({ kind: 'slow', delayMs: 400 });
    const id = await conversation();
    const stream = await openStream(t.url, `${BASE}/${id}/messages/stream`, { message: 'slow' });
    await stream.ended;
    expect(stream.comments.length).toBeGreaterThanOrEqual(1);
  });

  it('should finish and store the reply when the client disconnects mid-stream', async () => {
    fake.script({ kind: 'streamSlow', chunkDelayMs: 60 });
    const id = await conversation();
    const stream = await openStream(t.url, `${BASE}/${id}/messages/stream`, {
      message: 'keep going without me',
    });
    await stream.waitFor('message.delta');
    stream.disconnect();
    const during = await t.http.get(`${BASE}/${id}/generation`).expect(200);
    expect(during.body).toMatchObject({ status: 'streaming', model: 'lmstudio/default' });
    expect(during.body.text.length).toBeGreaterThan(0);
    await until(async () => (await messages(id))[1]?.status === 'complete');
    expect((await messages(id))[1].content).toBe('Echo: keep going without me [messages=2]');
    expect(fake.requests[0]).toMatchObject({ aborted: false, completed: true });
    await t.http.get(`${BASE}/${id}/generation`).expect(404);
  });

  it('should cancel mid-stream: abort the upstream, store the partial reply as cancelled, free the conversation', async () => {
    fake.script({ kind: 'streamSlow', chunkDelayMs: 150 });
    const id = await conversation();
    const stream = await openStream(t.url, `${BASE}/${id}/messages/stream`, {
      message: 'one two three four five six',
    });
    await stream.waitFor('message.delta');
    const cancelled = await t.http.post(`${BASE}/${id}/cancel`).expect(200);
    expect(cancelled.body.assistantMessage).toMatchObject({
      status: 'cancelled',
      error: { code: 'turn_cancelled' },
    });
    await stream.ended;
    expect(stream.events.at(-1)!.event).toBe('error');
    expect(JSON.parse(stream.events.at(-1)!.data).code).toBe('turn_cancelled');
    await fake.waitFor((r) => r[0]?.aborted === true);

    const stored = await messages(id);
    const streamed = stream.events
      .filter((e) => e.event === 'message.delta')
      .map((e) => JSON.parse(e.data).delta)
      .join('');
    expect(stored[1].status).toBe('cancelled');
    expect(stored[1].content).toBe(streamed);
    expect(stored[1].content.length).toBeLessThan(
      'Echo: one two three four five six [messages=2]'.length,
    );
    await t.http.post(`${BASE}/${id}/messages`).send({ message: 'next' }).expect(201);
    await t.http.post(`${BASE}/${id}/cancel`).expect(404);
  });

  it('should end with an error event and store the partial text as failed when the upstream drops', async () => {
    fake.script({ kind: 'drop', afterChunks: 2 });
    const id = await conversation();
    const stream = await openStream(t.url, `${BASE}/${id}/messages/stream`, {
      message: 'a b c d e f',
    });
    await stream.ended;
    const last = stream.events.at(-1)!;
    expect(last.event).toBe('error');
    expect(JSON.parse(last.data).code).toBe('provider_error');
    const stored = await messages(id);
    expect(stored.map((m) => [m.role, m.status])).toEqual([
      ['user', 'complete'],
      ['assistant', 'failed'],
    ]);
    expect(stored[1].content).toBe('Echo: a');
    // No retry after the first token: the client already has that text.
    expect(fake.requests).toHaveLength(1);
  });

  it('should retry errors before the first token like whole replies', async () => {
    fake.script({ kind: 'error', status: 503 });
    const id = await conversation();
    const stream = await openStream(t.url, `${BASE}/${id}/messages/stream`, { message: 'retry' });
    await stream.ended;
    expect(stream.events.at(-1)!.event).toBe('message.completed');
    expect(fake.requests).toHaveLength(2);
  });

  it('should answer 409 to a whole-reply turn while a stream runs on the same conversation', async () => {
    fake.script({ kind: 'streamSlow', chunkDelayMs: 80 });
    const id = await conversation();
    const stream = await openStream(t.url, `${BASE}/${id}/messages/stream`, {
      message: 'busy busy busy',
    });
    await stream.waitFor('message.created');
    const res = await t.http.post(`${BASE}/${id}/messages`).send({ message: 'me too' }).expect(409);
    expect(res.body.error).toBe('conversation_busy');
    const second = await openStream(t.url, `${BASE}/${id}/messages/stream`, {
      message: 'me three',
    });
    expect(second.status).toBe(409);
    await stream.ended;
  });

  it('should answer errors before the stream starts as JSON with the right status', async () => {
    const res = await t.http
      .post(`${BASE}/01936f3e-8a4c-7b1e-9d2a-3c4b5d6e7f80/messages/stream`)
      .send({ message: 'x' })
      .expect(404);
    expect(res.headers['content-type']).toMatch(/json/);
    expect(res.body.error).toBe('conversation_not_found');
  });

  it('should stream through the Groq SDK too', async () => {
    const id = await conversation();
    const stream = await openStream(t.url, `${BASE}/${id}/messages/stream`, {
      message: 'groq',
      model: 'groq/llama-3.3-70b',
    });
    await stream.ended;
    expect(stream.events.at(-1)!.event).toBe('message.completed');
    expect(fake.requests[0].path).toBe('/openai/v1/chat/completions');
    expect(fake.requests[0].body.stream).toBe(true);
  });

  it('should let a running reply finish on shutdown, or store it failed when the deadline passes', async () => {
    for (const [deadlineMs, expected] of [
      ['5000', 'complete'],
      ['100', 'failed'],
    ] as const) {
      const app = await startTestApp(db.url, {
        LMSTUDIO_BASE_URL: fake.openAiBaseUrl,
        LMSTUDIO_MODEL: 'fake-model',
        SHUTDOWN_TIMEOUT_MS: deadlineMs,
      });
      fake.script({ kind: 'streamSlow', chunkDelayMs: 100 });
      const id = (await app.http.post(BASE).send({}).expect(201)).body.id as string;
      const stream = await openStream(app.url, `${BASE}/${id}/messages/stream`, {
        message: 'one two three four',
      });
      await stream.waitFor('message.delta');
      await app.close();
      const stored = await messages(id);
      expect(stored[1].status).toBe(expected);
      if (expected === 'failed') expect(stored[1].errorCode).toBe('server_shutdown');
      await stream.ended;
    }
  });

  it('should resume a running turn from Last-Event-ID after a disconnect, with no gap and no repeat', async () => {
    fake.script({ kind: 'streamSlow', chunkDelayMs: 80 });
    const id = await conversation();
    const first = await openStream(t.url, `${BASE}/${id}/messages/stream`, {
      message: 'a b c d e f g',
    });
    await first.waitFor('message.delta');
    first.disconnect();
    const seen = first.events.map((e) => Number(e.id));
    const last = Math.max(...seen);

    const resumed = await new Promise<{ events: { id: string; event: string; data: string }[] }>(
      (resolve, reject) => {
        const events: { id: string; event: string; data: string }[] = [];
        const req = http.get(
          `${t.url}${BASE}/${id}/generation/events`,
          { headers: { 'Last-Event-ID': String(last) } },
          (res) => {
            expect(res.statusCode).toBe(200);
            const parser = createParser({
              onEvent: (e) => events.push({ id: e.id ?? '', event: e.event ?? '', data: e.data }),
            });
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => parser.feed(chunk));
            res.on('end', () => resolve({ events }));
          },
        );
        req.on('error', reject);
      },
    );
    const ids = resumed.events.map((e) => Number(e.id));
    expect(ids[0]).toBe(last + 1);
    ids.forEach((value, i) => i > 0 && expect(value).toBe(ids[i - 1] + 1));
    expect(resumed.events.at(-1)!.event).toBe('message.completed');
    const text = [...first.events, ...resumed.events]
      .filter((e) => e.event === 'message.delta')
      .map((e) => JSON.parse(e.data).delta as string)
      .join('');
    expect(text).toBe('Echo: a b c d e f g [messages=2]');
    await t.http.get(`${BASE}/${id}/generation/events`).expect(404);
  });
});
