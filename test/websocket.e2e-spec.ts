import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { SignJWT } from 'jose';
import type TestAgent from 'supertest/lib/agent';

import { launchChromium } from './utils/chromium';
import { AppClient, CONVERSATIONS as BASE, waitUntil, withTestApp } from './utils/harness';
import { streamedText } from './utils/sse';
import { refusedUpgrade, socketUrl, TestSocket } from './utils/ws-client';

const SECRET = 'test-secret-that-is-long-enough-0123456789';
const UNKNOWN_ID = '01936f3e-8a4c-7b1e-9d2a-3c4b5d6e7f80';

function token(sub: string): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(SECRET));
}

/** One gauge's value from GET /metrics. */
async function gauge(agent: TestAgent, name: string): Promise<number> {
  const res = await agent.get('/metrics').expect(200);
  const line = res.text.split('\n').find((l) => l.startsWith(`${name} `));
  if (!line) throw new Error(`no ${name} in /metrics`);
  return Number(line.split(' ')[1]);
}

const ids = (messages: { id?: number }[]): number[] => messages.map((m) => m.id!);

/** Each id is the one before plus one: nothing missing, nothing twice. */
function expectConsecutive(values: number[]): void {
  values.forEach((value, i) => i > 0 && expect(value).toBe(values[i - 1] + 1));
}

describe('WebSocket streaming', () => {
  const t = withTestApp({ env: { LMSTUDIO_MODEL: 'fake-model', LLM_TIMEOUT_MS: '2000' } });
  const sockets: TestSocket[] = [];
  const open = async (app: AppClient = t, options = {}): Promise<TestSocket> => {
    const socket = await TestSocket.open(app.url, options);
    sockets.push(socket);
    return socket;
  };
  afterEach(() => sockets.splice(0).forEach((socket) => socket.ws.terminate()));

  it('should send the same events, ids and payloads as the SSE stream of the same turn', async () => {
    const viaSse = await t.createConversation();
    const sse = await t.stream(viaSse, 'the same words');
    const id = await t.createConversation();
    const socket = await open();
    socket.send({ type: 'message.send', conversationId: id, message: 'the same words' });
    await socket.turnEnd(id);

    const events = socket.events(id);
    expect(events.map((m) => m.type)).toEqual(sse.events.map((e) => e.event));
    expect(ids(events)).toEqual(sse.events.map((e) => Number(e.id)));
    expect(socket.text(id)).toBe(streamedText(sse.events));
    expect(socket.text(id)).toBe('Echo: the same words [messages=2]');
    // Payloads differ only by what differs between the two turns (ids, times).
    const [stored, sseData] = [
      await t.storedMessages(id),
      sse.events.map((e) => JSON.parse(e.data)),
    ];
    events.forEach((message, i) => {
      expect(Object.keys(message).sort()).toEqual(['conversationId', 'data', 'id', 'type']);
      expect(message.conversationId).toBe(id);
      expect(Object.keys(message.data).sort()).toEqual(Object.keys(sseData[i]).sort());
      if (message.type === 'message.delta') expect(message.data).toEqual(sseData[i]);
    });
    expect(events[0].data).toMatchObject({
      assistantMessageId: stored[1].id,
      userMessage: { id: stored[0].id, content: 'the same words', role: 'user' },
    });
    expect(events.at(-1)!.data).toMatchObject({
      assistantMessage: { id: stored[1].id, status: 'complete', content: stored[1].content },
      usage: { completionTokens: 5, estimated: false },
    });
  });

  it('should stream two conversations at once on one socket', async () => {
    let release!: () => void;
    const until = new Promise<void>((resolve) => (release = resolve));
    t.fake.script({ kind: 'held', until }, { kind: 'held', until });
    const [first, second] = [await t.createConversation(), await t.createConversation()];
    const socket = await open();
    socket.send({ type: 'message.send', conversationId: first, message: 'first' });
    socket.send({ type: 'message.send', conversationId: second, message: 'second' });
    // Both turns are running (both provider calls in flight) before either may answer.
    await t.fake.waitForRequests(2);
    await socket.waitForType('message.created', first);
    await socket.waitForType('message.created', second);
    release();
    await Promise.all([socket.turnEnd(first), socket.turnEnd(second)]);
    expect(socket.text(first)).toBe('Echo: first [messages=2]');
    expect(socket.text(second)).toBe('Echo: second [messages=2]');
    expect(socket.events(first).at(-1)!.type).toBe('message.completed');
    expect(socket.events(second).at(-1)!.type).toBe('message.completed');
  });

  it('should cancel the running turn and acknowledge it', async () => {
    t.fake.script({ kind: 'streamSlow', chunkDelayMs: 150 });
    const id = await t.createConversation();
    const socket = await open();
    socket.send({
      type: 'message.send',
      conversationId: id,
      message: 'one two three four five six',
    });
    await socket.waitForType('message.delta', id);
    socket.send({ type: 'cancel', conversationId: id, requestId: 'stop-1' });

    const end = await socket.turnEnd(id);
    expect(end.type).toBe('error');
    expect(end.data).toMatchObject({
      code: 'turn_cancelled',
      assistantMessage: { status: 'cancelled' },
    });
    const ack = await socket.waitForType('cancelled', id);
    expect(ack).toMatchObject({
      requestId: 'stop-1',
      data: { assistantMessage: { status: 'cancelled', error: { code: 'turn_cancelled' } } },
    });
    await t.fake.waitFor((r) => r[0]?.aborted === true);
    const stored = await t.storedMessages(id);
    expect(stored[1]).toMatchObject({ status: 'cancelled', content: socket.text(id) });

    socket.send({ type: 'cancel', conversationId: id, requestId: 'stop-2' });
    const nothing = await socket.waitFor((m) => m.requestId === 'stop-2');
    expect(nothing).toMatchObject({
      type: 'error',
      conversationId: id,
      data: { code: 'no_active_generation', statusCode: 404 },
    });
  });

  it('should send only later events when a send is repeated with its key and lastEventId', async () => {
    t.fake.script({ kind: 'streamSlow', chunkDelayMs: 80 });
    const id = await t.createConversation();
    const send = { type: 'message.send', conversationId: id, message: 'a b c d e f g' };
    const first = await open();
    first.send({ ...send, idempotencyKey: 'ws-k1' });
    await first.waitFor((m) => m.type === 'message.delta' && m.data.delta.trim() === 'a');
    await first.close();
    const before = first.events(id);
    const lastEventId = String(before.at(-1)!.id); // as EventSource hands ids over

    const second = await open();
    second.send({ ...send, idempotencyKey: 'ws-k1', lastEventId });
    await second.turnEnd(id);
    const after = second.events(id);
    expect(after[0].id).toBe(Number(lastEventId) + 1);
    expectConsecutive(ids([...before, ...after]));
    const text = [first, second].map((s) => s.text(id)).join('');
    expect(text).toBe('Echo: a b c d e f g [messages=2]');
    // One turn: the repeat stored no second user message.
    expect(await t.storedMessages(id)).toHaveLength(2);
    await second.close();
  });

  it('should resume after a reconnect from lastEventId with no gap and no repeat', async () => {
    t.fake.script({ kind: 'streamSlow', chunkDelayMs: 80 });
    const id = await t.createConversation();
    const first = await open();
    first.send({ type: 'message.send', conversationId: id, message: 'a b c d e f g' });
    await first.waitFor((m) => m.type === 'message.delta' && m.data.delta.trim() === 'a');
    await first.close();
    const before = first.events(id);
    const lastEventId = before.at(-1)!.id;

    const second = await open();
    second.send({ type: 'resume', conversationId: id, lastEventId });
    await second.turnEnd(id);
    const after = second.events(id);
    expect(after[0].id).toBe(lastEventId! + 1);
    const all = [...before, ...after];
    expectConsecutive(ids(all));
    expect(all[0].type).toBe('message.created');
    expect(all.at(-1)!.type).toBe('message.completed');
    const text = [first, second].map((s) => s.text(id)).join('');
    expect(text).toBe('Echo: a b c d e f g [messages=2]');
    expect((await t.storedMessages(id))[1].content).toBe(text);

    second.send({ type: 'resume', conversationId: id, requestId: 'late' });
    expect(await second.waitFor((m) => m.requestId === 'late')).toMatchObject({
      type: 'error',
      data: { code: 'no_active_generation' },
    });
  });

  it('should resume on another replica a turn that runs on this one', async () => {
    const other = await t.startApp();
    t.fake.script({ kind: 'streamSlow', chunkDelayMs: 80 });
    const id = await t.createConversation();
    const first = await open();
    first.send({ type: 'message.send', conversationId: id, message: 'a b c d e f g' });
    await first.waitFor((m) => m.type === 'message.delta' && m.data.delta.trim() === 'a');
    await first.close();
    const before = first.events(id);

    const second = await open(other);
    second.send({ type: 'resume', conversationId: id, lastEventId: before.at(-1)!.id });
    expect((await second.turnEnd(id)).type).toBe('message.completed');
    expectConsecutive(ids([...before, ...second.events(id)]));
    expect(first.text(id) + second.text(id)).toBe('Echo: a b c d e f g [messages=2]');
    await other.close();
  });

  it('should answer a send on a busy conversation with a 409 error event and leave the running turn alone', async () => {
    t.fake.script({ kind: 'streamSlow', chunkDelayMs: 80 });
    const id = await t.createConversation();
    const socket = await open();
    socket.send({ type: 'message.send', conversationId: id, message: 'busy busy busy' });
    await socket.waitForType('message.created', id);
    socket.send({ type: 'message.send', conversationId: id, message: 'me too', requestId: 'r2' });
    const busy = await socket.waitFor((m) => m.requestId === 'r2');
    expect(busy).toEqual({
      type: 'error',
      conversationId: id,
      requestId: 'r2',
      data: {
        statusCode: 409,
        error: 'conversation_busy',
        code: 'conversation_busy',
        message: expect.any(String),
        correlationId: expect.any(String),
      },
    });
    expect((await socket.turnEnd(id)).type).toBe('message.completed');
    expect(socket.text(id)).toBe('Echo: busy busy busy [messages=2]');
  });

  it('should validate messages with the same codes and details as HTTP', async () => {
    const id = await t.createConversation();
    const socket = await open();
    const cases: Record<string, unknown>[] = [
      { message: 5, params: { temperature: 3, topP: 'x' }, extra: true },
      { message: '   ' },
      { message: 'x', model: 'not an alias' },
      { message: 'x', model: 'nobody/knows' },
      { message: 'NUL \u0000 is not storable' },
    ];
    for (const [i, body] of cases.entries()) {
      const res = await t.http.post(`${BASE}/${id}/messages/stream`).send(body).expect(400);
      socket.send({ type: 'message.send', conversationId: id, requestId: `v${i}`, ...body });
      const error = await socket.waitFor((m) => m.requestId === `v${i}`);
      expect(error).toMatchObject({ type: 'error', conversationId: id });
      expect(error.data).toEqual({
        statusCode: 400,
        error: res.body.error,
        code: res.body.error,
        message: res.body.message,
        correlationId: expect.any(String),
        ...(res.body.details && { details: res.body.details }),
      });
    }

    socket.send({
      type: 'message.send',
      conversationId: id,
      message: 'x',
      idempotencyKey: 'has space',
      requestId: 'k',
    });
    expect((await socket.waitFor((m) => m.requestId === 'k')).data.code).toBe(
      'invalid_idempotency_key',
    );
    socket.send({ type: 'message.send', conversationId: 'nope', message: 'x', requestId: 'c' });
    expect((await socket.waitFor((m) => m.requestId === 'c')).data).toMatchObject({
      code: 'validation_failed',
      details: [{ field: 'conversationId', errors: ['conversationId must be a UUID'] }],
    });
    socket.send({ type: 'resume', conversationId: id, lastEventId: -1, requestId: 'l' });
    expect((await socket.waitFor((m) => m.requestId === 'l')).data.details[0].field).toBe(
      'lastEventId',
    );
    socket.send({ type: 'message.send', conversationId: UNKNOWN_ID, message: 'x', requestId: 'u' });
    expect(await socket.waitFor((m) => m.requestId === 'u')).toMatchObject({
      conversationId: UNKNOWN_ID,
      data: { code: 'conversation_not_found', statusCode: 404 },
    });

    const before = socket.messages.length;
    socket.ws.send('{not json');
    socket.ws.send('[1, 2]');
    socket.ws.send(JSON.stringify({ type: 'message.delete', conversationId: id, requestId: 't' }));
    socket.ws.send(Buffer.from('{}'), { binary: true });
    await waitUntil(() => socket.messages.length === before + 4);
    const invalid = socket.messages.slice(before);
    expect(invalid.map((m) => [m.type, m.data.code, m.data.statusCode])).toEqual(
      Array(4).fill(['error', 'invalid_message', 400]),
    );
    expect(invalid.find((m) => m.requestId === 't')?.data.message).toMatch(
      /message\.send, message\.regenerate, message\.edit, message\.toolResults, cancel or resume/,
    );

    // Nothing of that closed the socket.
    socket.send({ type: 'message.send', conversationId: id, message: 'still here' });
    expect((await socket.turnEnd(id)).type).toBe('message.completed');
  });

  it('should replay an idempotent retry instead of running the turn again', async () => {
    const id = await t.createConversation();
    const socket = await open();
    const send = {
      type: 'message.send',
      conversationId: id,
      message: 'once',
      idempotencyKey: 'k-1',
    };
    socket.send(send);
    await socket.turnEnd(id);
    const again = await open();
    again.send(send);
    await again.turnEnd(id);
    expect(again.text(id)).toBe(socket.text(id));
    expect(t.fake.requests).toHaveLength(1);
    expect(await t.storedMessages(id)).toHaveLength(2);
  });

  it('should regenerate a reply and edit a message with the same events as their SSE streams', async () => {
    const id = await t.createConversation();
    const first = (await t.send(id, 'hello')).body as {
      userMessage: { id: string };
      assistantMessage: { id: string };
    };
    const socket = await open();
    socket.send({
      type: 'message.regenerate',
      conversationId: id,
      messageId: first.assistantMessage.id,
    });
    expect((await socket.turnEnd(id)).type).toBe('message.completed');
    const created = socket.events(id)[0];
    expect(created.type).toBe('message.created');
    expect(created.data.userMessage.id).toBe(first.userMessage.id);
    expect(socket.text(id)).toBe('Echo: hello [messages=2]');

    const again = await open();
    again.send({
      type: 'message.edit',
      conversationId: id,
      messageId: first.userMessage.id,
      message: 'bonjour',
    });
    expect((await again.turnEnd(id)).type).toBe('message.completed');
    expect(again.text(id)).toBe('Echo: bonjour [messages=2]');
    const path = await t.http.get(`${BASE}/${id}/messages`).expect(200);
    expect(path.body.data.map((m: { content: string }) => m.content)).toEqual([
      'bonjour',
      'Echo: bonjour [messages=2]',
    ]);
  });

  it('should finish and store the reply when the client disconnects mid-stream', async () => {
    t.fake.script({ kind: 'streamSlow', chunkDelayMs: 60 });
    const id = await t.createConversation();
    const socket = await open();
    socket.send({ type: 'message.send', conversationId: id, message: 'keep going without me' });
    await socket.waitForType('message.delta', id);
    socket.ws.terminate();
    await waitUntil(async () => (await t.storedMessages(id))[1]?.status === 'complete');
    expect((await t.storedMessages(id))[1].content).toBe(
      'Echo: keep going without me [messages=2]',
    );
    expect(t.fake.requests[0]).toMatchObject({ aborted: false, completed: true });
  });

  it('should answer a plain GET with 426 and refuse other paths and foreign pages', async () => {
    const plain = await t.http.get('/api/v1/ws').expect(426);
    expect(plain.body.error).toBe('upgrade_required');
    expect(plain.headers.upgrade).toBe('websocket');

    const elsewhere = await refusedUpgrade(t.url, { path: '/api/v1/sockets' });
    expect([elsewhere.status, elsewhere.body.error]).toEqual([404, 'not_found']);
    const foreign = await refusedUpgrade(t.url, { headers: { Origin: 'https://evil.example' } });
    expect([foreign.status, foreign.body.error]).toEqual([403, 'origin_not_allowed']);
    expect(foreign.body.correlationId).toBe(foreign.headers['x-correlation-id']);
    // The page's own origin may connect.
    await open(t, { headers: { Origin: t.url } });
  });

  it('should count messages per owner against RATE_LIMIT_PER_MINUTE, across sockets', async () => {
    const app = await t.startApp({ env: { RATE_LIMIT_PER_MINUTE: '3' } });
    const [a, b] = [await open(app), await open(app)];
    a.send({ type: 'cancel', conversationId: UNKNOWN_ID, requestId: '1' });
    a.send({ type: 'cancel', conversationId: UNKNOWN_ID, requestId: '2' });
    await a.waitFor((m) => m.requestId === '2');
    b.send({ type: 'cancel', conversationId: UNKNOWN_ID, requestId: '3' });
    b.send({ type: 'cancel', conversationId: UNKNOWN_ID, requestId: '4' });
    // Answers come as each is ready: the limit's answer may overtake the lookup's.
    const [third, fourth] = [
      await b.waitFor((m) => m.requestId === '3'),
      await b.waitFor((m) => m.requestId === '4'),
    ];
    expect(third.data.code).toBe('conversation_not_found');
    expect(fourth.data).toMatchObject({ code: 'rate_limited', statusCode: 429 });
    expect(fourth.data.retryAfter).toBeGreaterThan(0);
    await app.close();
  });

  it('should refuse a socket past WS_MAX_SOCKETS_PER_CLIENT with 429 too_many_sockets, and take one again once a socket closed', async () => {
    const app = await t.startApp({ env: { WS_MAX_SOCKETS_PER_CLIENT: '2' } });
    const first = await open(app);
    await open(app);
    const refused = await refusedUpgrade(app.url);
    expect([refused.status, refused.body.error]).toEqual([429, 'too_many_sockets']);
    expect(refused.headers['retry-after']).toBe('1');

    first.ws.close();
    await first.closed;
    await waitUntil(async () => {
      const socket = await TestSocket.open(app.url).catch(() => undefined);
      socket?.ws.terminate();
      return socket !== undefined;
    });
    await app.close();
  });

  it('should ping every WS_PING_MS and drop a peer that does not answer', async () => {
    const app = await t.startApp({ env: { WS_PING_MS: '100' } });
    const silent = await open(app, { autoPong: false });
    const answering = await open(app);
    let pings = 0;
    answering.ws.on('ping', () => pings++);
    expect((await silent.closed).code).toBe(1006);
    await waitUntil(() => pings >= 4);
    expect(answering.ws.readyState).toBe(answering.ws.OPEN);
    await app.close();
  });

  describe('a client that does not read', () => {
    const bound = 16_384;
    // Far more than the kernel's socket buffers hold, in frames of about 8 KB.
    const reply = Array.from({ length: 500 }, (_, i) => String(i).padEnd(8000, 'x')).join(' ');
    // A 4 MB reply: above the default REPLY_MAX_CHARS, which would end it at 1 MB.
    const env = { WS_MAX_BUFFERED_BYTES: String(bound), REPLY_MAX_CHARS: String(reply.length) };

    it('should not buffer more than WS_MAX_BUFFERED_BYTES for it, and deliver everything once it reads', async () => {
      const app = await t.startApp({ env });
      t.fake.script({ kind: 'reply', content: reply });
      const id = await app.createConversation();
      const socket = await open(app);
      socket.ws.pause();
      socket.send({ type: 'message.send', conversationId: id, message: 'a long one please' });
      // The turn does not wait for the client: it ends and is stored while the socket is full.
      await waitUntil(async () => (await app.storedMessages(id))[1]?.status === 'complete', 30_000);
      expect(await gauge(app.http, 'ws_connections')).toBe(1);
      const buffered = await gauge(app.http, 'ws_buffered_bytes');
      expect(buffered).toBeGreaterThan(0);
      expect(buffered).toBeLessThanOrEqual(bound + 10_000);

      socket.ws.resume();
      expect((await socket.turnEnd(id)).type).toBe('message.completed');
      expect(socket.text(id)).toBe(reply);
      expectConsecutive(ids(socket.events(id)));
      await app.close();
    }, 60_000);

    it('should close it with 1013 when it keeps asking without reading the answers', async () => {
      const app = await t.startApp({ env });
      t.fake.script({ kind: 'reply', content: reply });
      const id = await app.createConversation();
      const socket = await open(app);
      socket.ws.pause();
      socket.send({ type: 'message.send', conversationId: id, message: 'a long one please' });
      await waitUntil(async () => (await app.storedMessages(id))[1]?.status === 'complete', 30_000);
      for (let i = 0; i < 300; i++) socket.ws.send('not json');
      // Its unread answers pass twice the bound: the server closes it (and sends no more).
      await waitUntil(async () => (await gauge(app.http, 'ws_buffered_bytes')) > 2 * bound);
      socket.ws.resume();
      expect((await socket.closed).code).toBe(1013);
      await app.close();
    }, 60_000);
  });

  it('should close sockets with 1001 on shutdown, after their running turns ended', async () => {
    const app = await t.startApp({ env: { SHUTDOWN_TIMEOUT_MS: '5000' } });
    t.fake.script({ kind: 'streamSlow', chunkDelayMs: 100 });
    const id = await app.createConversation();
    const [streaming, idle] = [await open(app), await open(app)];
    streaming.send({ type: 'message.send', conversationId: id, message: 'one two three four' });
    await streaming.waitForType('message.delta', id);
    const closing = app.close();
    expect((await idle.closed).code).toBe(1001);
    // While draining, no new sockets and no new turns, as HTTP answers.
    const refused = await refusedUpgrade(app.url);
    expect([refused.status, refused.body.error]).toEqual([503, 'shutting_down']);
    const other = await app.createConversation().catch(() => UNKNOWN_ID);
    streaming.send({
      type: 'message.send',
      conversationId: other,
      message: 'x',
      requestId: 'late',
    });
    expect((await streaming.waitFor((m) => m.requestId === 'late')).data).toMatchObject({
      code: 'shutting_down',
      statusCode: 503,
      retryAfter: 1,
    });
    expect((await streaming.closed).code).toBe(1001);
    expect(streaming.events(id).at(-1)!.type).toBe('message.completed');
    expect(streaming.text(id)).toBe('Echo: one two three four [messages=2]');
    await closing;
    expect((await t.storedMessages(id))[1].status).toBe('complete');
  });
});

describe('WebSocket with AUTH_MODE=jwt', () => {
  const t = withTestApp({
    env: { LMSTUDIO_MODEL: 'fake-model', AUTH_MODE: 'jwt', JWT_SECRET: SECRET },
  });
  const bearer = async (sub: string) => ({ Authorization: `Bearer ${await token(sub)}` });

  it('should refuse an upgrade without a valid token with 401 before upgrading', async () => {
    const none = await refusedUpgrade(t.url);
    expect(none.status).toBe(401);
    expect(none.body).toMatchObject({ statusCode: 401, error: 'missing_credentials' });
    expect(none.headers['www-authenticate']).toContain('missing_credentials');
    const forged = await refusedUpgrade(t.url, { protocols: ['chat.v1', 'bearer.not.a.jwt'] });
    expect([forged.status, forged.body.error]).toEqual([401, 'invalid_token']);
  });

  it('should count failed upgrades per address like failed HTTP authentications', async () => {
    const app = await t.startApp({ env: { AUTH_FAILURES_PER_MINUTE: '2' } });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await refusedUpgrade(app.url)).status);
    expect(statuses).toEqual([401, 401, 429]);
    const blocked = await refusedUpgrade(app.url, {
      protocols: [`bearer.${await token('alice')}`],
    });
    expect([blocked.status, blocked.body.error]).toEqual([429, 'rate_limited']);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    await app.close();
  });

  it('should take the token as subprotocol, header or query parameter, and answer the subprotocol', async () => {
    const id = await t.createConversation({}, await bearer('alice'));
    const alice = await token('alice');
    const variants = [
      { protocols: ['chat.v1', `bearer.${alice}`], answered: 'chat.v1' },
      { protocols: [`bearer.${alice}`], answered: `bearer.${alice}` },
      { headers: { Authorization: `Bearer ${alice}` }, answered: '' },
      { query: `access_token=${alice}`, answered: '' },
    ];
    for (const { answered, ...options } of variants) {
      const socket = await TestSocket.open(t.url, options);
      expect(socket.ws.protocol).toBe(answered);
      socket.send({ type: 'message.send', conversationId: id, message: 'hi' });
      expect((await socket.turnEnd(id)).type).toBe('message.completed');
      await socket.close();
    }
  });

  it("should answer conversation_not_found for another owner's conversation, and leave its turn alone", async () => {
    t.fake.script({ kind: 'streamSlow', chunkDelayMs: 80 });
    const id = await t.createConversation({}, await bearer('alice'));
    const alice = await TestSocket.open(t.url, { protocols: [`bearer.${await token('alice')}`] });
    const bob = await TestSocket.open(t.url, { protocols: [`bearer.${await token('bob')}`] });
    alice.send({ type: 'message.send', conversationId: id, message: 'mine alone' });
    await alice.waitForType('message.created', id);
    for (const type of ['message.send', 'cancel', 'resume']) {
      bob.send({
        type,
        conversationId: id,
        message: type === 'message.send' ? 'x' : undefined,
        requestId: type,
      });
      expect(await bob.waitFor((m) => m.requestId === type)).toMatchObject({
        type: 'error',
        data: { code: 'conversation_not_found', statusCode: 404 },
      });
    }
    expect((await alice.turnEnd(id)).type).toBe('message.completed');
    expect(bob.events(id)).toEqual([]);
    await Promise.all([alice.close(), bob.close()]);
  });
});

const BROWSER_TIMEOUT_MS = 60_000;

/** A frontend on its own origin: connects with the token as subprotocol and shows the reply. */
const PAGE = `<!doctype html>
<meta charset="utf-8">
<p id="status">connecting</p>
<pre id="reply"></pre>
<script>
  const params = new URLSearchParams(location.hash.slice(1));
  const status = document.getElementById('status');
  const reply = document.getElementById('reply');
  const socket = new WebSocket(params.get('ws'), ['chat.v1', 'bearer.' + params.get('token')]);
  socket.onopen = () => {
    status.textContent = 'open ' + socket.protocol;
    socket.send(JSON.stringify({ type: 'message.send', conversationId: params.get('id'), message: 'Hello from Chromium' }));
  };
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data);
    if (message.type === 'message.delta') reply.textContent += message.data.delta;
    if (message.type === 'message.completed') status.textContent = 'completed';
    if (message.type === 'error') status.textContent = 'error ' + message.data.code;
  };
  socket.onclose = (event) => { if (status.textContent !== 'completed') status.textContent = 'closed ' + event.code; };
</script>`;

describe('WebSocket in Chromium', () => {
  const pageServer = http.createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(PAGE);
  });
  let pageOrigin = '';
  beforeAll(async () => {
    await new Promise<void>((resolve) => pageServer.listen(0, '127.0.0.1', resolve));
    pageOrigin = `http://127.0.0.1:${(pageServer.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => pageServer.close(resolve)));
  const t = withTestApp({
    env: () => ({
      LMSTUDIO_MODEL: 'fake-model',
      AUTH_MODE: 'jwt',
      JWT_SECRET: SECRET,
      CORS_ORIGINS: pageOrigin,
    }),
  });

  it(
    'should stream a reply to a page that passes its token as subprotocol',
    async () => {
      const browser = await launchChromium();
      try {
        const alice = await token('alice');
        const id = await t.createConversation({}, { Authorization: `Bearer ${alice}` });
        const page = await browser.newPage();
        const hash = new URLSearchParams({ ws: socketUrl(t.url), token: alice, id });
        await page.goto(`${pageOrigin}/#${hash.toString()}`);
        const status = page.locator('#status');
        await status.filter({ hasText: /completed|error|closed/ }).waitFor();
        expect(await status.textContent()).toBe('completed');
        expect(await page.locator('#reply').textContent()).toBe(
          'Echo: Hello from Chromium [messages=2]',
        );
        expect((await t.storedMessages(id))[1]).toMatchObject({
          status: 'complete',
          content: 'Echo: Hello from Chromium [messages=2]',
        });
      } finally {
        await browser.close();
      }
    },
    BROWSER_TIMEOUT_MS,
  );
});
