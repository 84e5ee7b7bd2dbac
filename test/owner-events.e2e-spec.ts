import { Client, Notification } from 'pg';

import { generateApiKey, hashApiKey } from '../src/auth/api-keys';
import { FakeLlmServer } from './fake-llm/fake-llm-server';
import { AppProcess, startAppProcess } from './utils/app-process';
import { createTestDatabase, TestDatabase } from './utils/database';
import { ProductionBuild } from './utils/production-build';
import { openSse, SseEvent, SseStream } from './utils/sse';
import { TestSocket } from './utils/ws-client';

const BASE = '/api/v1/conversations';

/** Parsed JSON the spec asserts on. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

async function call(
  method: string,
  url: string,
  headers: Record<string, string>,
  body?: unknown,
): Promise<{ status: number; body: Json }> {
  const res = await fetch(url, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {} };
}

/** Resolves with the first event matching, already arrived or still to come. */
async function eventOf(
  stream: SseStream,
  match: (event: SseEvent) => boolean,
  timeoutMs = 10_000,
): Promise<SseEvent> {
  const giveUpAt = Date.now() + timeoutMs;
  for (;;) {
    const found = stream.events.find(match);
    if (found) return found;
    if (Date.now() > giveUpAt)
      throw new Error(`no such event; got ${stream.events.map((e) => e.event).join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const about = (id: string) => (event: SseEvent) =>
  JSON.parse(event.data).id === id || JSON.parse(event.data).conversationId === id;

describe('Owner events across replicas (real processes)', () => {
  const [keyA, keyB, keyC, keyD] = [1, 2, 3, 4].map(() => generateApiKey());
  const ALICE = { 'X-API-Key': keyA };
  const BOB = { 'X-API-Key': keyB };
  // Owners nobody has subscribed for before their test: no process publishes their events.
  const CAROL = { 'X-API-Key': keyC };
  const DAVE = { 'X-API-Key': keyD };
  let db: TestDatabase;
  let fake: FakeLlmServer;
  const build = ProductionBuild.start();
  let a: AppProcess;
  let b: AppProcess;

  beforeAll(async () => {
    db = await createTestDatabase();
    fake = new FakeLlmServer();
    await fake.start();
    await build.ready();
    const env = {
      DATABASE_URL: db.url,
      LMSTUDIO_BASE_URL: fake.openAiBaseUrl,
      LMSTUDIO_MODEL: 'fake-model',
      DEFAULT_MODEL: 'lmstudio/default',
      LOG_LEVEL: 'warn',
      AUTH_MODE: 'api-key',
      API_KEYS: [
        ['alice', keyA],
        ['bob', keyB],
        ['carol', keyC],
        ['dave', keyD],
      ]
        .map(([owner, key]) => `${owner}:${hashApiKey(key).toString('hex')}`)
        .join(','),
      TITLES: 'on',
      SSE_HEARTBEAT_MS: '300',
    };
    [a, b] = await Promise.all([
      startAppProcess(build, { env }).then(async (p) => (await p.waitUntilHealthy(), p)),
      startAppProcess(build, { env }).then(async (p) => (await p.waitUntilHealthy(), p)),
    ]);
  }, 120_000);

  afterAll(async () => {
    for (const replica of [a, b]) replica?.kill();
    await fake?.stop();
    await db?.drop();
  });

  beforeEach(() => fake.reset());

  it("should stream an owner's conversation and turn events from another replica, and no one else's", async () => {
    const alice = await openSse(`${a.url}/api/v1/events`, { method: 'GET', headers: ALICE });
    // EventSource sends no headers: the token may come in the query, as for …/generation/events.
    const bob = await openSse(`${a.url}/api/v1/events?access_token=${keyB}`, { method: 'GET' });
    expect(alice.status).toBe(200);
    expect(alice.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(bob.status).toBe(200);

    // Everything happens on replica B.
    const created = await call('POST', `${b.url}${BASE}`, ALICE, {});
    const id = created.body.id as string;
    const turn = await call('POST', `${b.url}${BASE}/${id}/messages`, ALICE, {
      message: 'Plan a day in Lisbon',
    });
    expect(turn.status).toBe(201);
    const titled = await eventOf(
      alice,
      (e) => e.event === 'conversation.updated' && JSON.parse(e.data).titleSource === 'generated',
    );
    expect((await call('PATCH', `${b.url}${BASE}/${id}`, ALICE, { title: 'Mine' })).status).toBe(
      200,
    );
    const renamed = await eventOf(
      alice,
      (e) => e.event === 'conversation.updated' && JSON.parse(e.data).title === 'Mine',
    );
    expect((await call('DELETE', `${b.url}${BASE}/${id}`, ALICE)).status).toBe(204);
    await eventOf(alice, (e) => e.event === 'conversation.deleted');

    const bobs = (await call('POST', `${b.url}${BASE}`, BOB, {})).body.id as string;
    await eventOf(bob, (e) => e.event === 'conversation.created');

    const mine = alice.events.filter(about(id));
    expect(mine.map((e) => e.event)).toEqual([
      'conversation.created',
      'turn.started',
      'turn.finished',
      'conversation.updated',
      'conversation.updated',
      'conversation.deleted',
    ]);
    const assistantMessageId = turn.body.assistantMessage.id as string;
    expect(JSON.parse(mine[0].data)).toMatchObject({ id, title: null, pinned: false });
    expect(JSON.parse(mine[0].data)).not.toHaveProperty('systemPrompt');
    expect(JSON.parse(mine[1].data)).toEqual({ conversationId: id, assistantMessageId });
    expect(JSON.parse(mine[2].data)).toEqual({
      conversationId: id,
      assistantMessageId,
      status: 'complete',
    });
    expect(JSON.parse(titled.data)).toMatchObject({ id, title: expect.any(String) });
    expect(JSON.parse(renamed.data)).toMatchObject({ id, title: 'Mine', titleSource: 'user' });
    expect(JSON.parse(mine[5].data)).toEqual({ id });
    // Ids increase within the connection; nothing of Bob's reached Alice, nor Alice's Bob.
    const ids = alice.events.map((e) => Number(e.id));
    expect(ids).toEqual(ids.map((_, i) => i + 1));
    expect(alice.events.filter(about(bobs))).toEqual([]);
    expect(bob.events.map((e) => [e.event, JSON.parse(e.data).id])).toEqual([
      ['conversation.created', bobs],
    ]);
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(alice.comments).toContain('heartbeat');
    alice.disconnect();
    bob.disconnect();
  });

  it('should refuse the stream without credentials', async () => {
    const anonymous = await openSse(`${a.url}/api/v1/events`, { method: 'GET' });
    expect(anonymous.status).toBe(401);
    anonymous.disconnect();
  });

  it('should deliver the same events on a WebSocket after events.subscribe', async () => {
    const socket = await TestSocket.open(a.url, { headers: ALICE });
    const other = await TestSocket.open(a.url, { headers: BOB });
    for (const s of [socket, other]) s.send({ type: 'events.subscribe', requestId: 'r1' });
    for (const s of [socket, other])
      expect(await s.waitForType('events.subscribed')).toMatchObject({ requestId: 'r1' });

    const id = (await call('POST', `${b.url}${BASE}`, ALICE, {})).body.id as string;
    await call('POST', `${b.url}${BASE}/${id}/messages`, ALICE, { message: 'Hello' });
    const finished = await socket.waitFor(
      (m) => m.type === 'turn.finished' && m.data.conversationId === id,
    );
    expect(finished.data).toMatchObject({ status: 'complete' });
    const created = await socket.waitForType('conversation.created');
    expect(created).toEqual({
      type: 'conversation.created',
      data: expect.objectContaining({ id }),
    });
    expect(socket.types()).toEqual(
      expect.arrayContaining(['events.subscribed', 'conversation.created', 'turn.started']),
    );

    socket.send({ type: 'events.unsubscribe', requestId: 'r2' });
    await socket.waitForType('events.unsubscribed');
    const count = socket.messages.length;
    await call('DELETE', `${b.url}${BASE}/${id}`, ALICE);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(socket.messages.length).toBe(count);
    expect(other.types()).toEqual(['events.subscribed']);
    socket.ws.close();
    other.ws.close();
  });

  it('should send no notification for an owner nobody listens to, and send them once someone does', async () => {
    const pg = new Client({ connectionString: db.url });
    await pg.connect();
    const heard: { ownerId: string; type: string }[] = [];
    pg.on('notification', (n: Notification) => heard.push(JSON.parse(n.payload ?? '{}')));
    await pg.query('LISTEN owner_events');
    try {
      const id = (await call('POST', `${b.url}${BASE}`, CAROL, {})).body.id as string;
      const quiet = await call('POST', `${b.url}${BASE}/${id}/messages`, CAROL, { message: 'Hi' });
      expect(quiet.status).toBe(201);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(heard.filter((n) => n.ownerId === 'carol')).toEqual([]);

      const carol = await openSse(`${a.url}/api/v1/events`, { method: 'GET', headers: CAROL });
      expect(carol.status).toBe(200);
      await call('POST', `${b.url}${BASE}/${id}/messages`, CAROL, { message: 'Again' });
      await eventOf(carol, (e) => e.event === 'turn.finished');
      // The turns' events (a generated title may add a conversation.updated).
      const turnEvents = (types: (string | undefined)[]) =>
        types.filter((type) => type?.startsWith('turn.'));
      expect(turnEvents(carol.events.map((e) => e.event))).toEqual([
        'turn.started',
        'turn.finished',
      ]);
      expect(turnEvents(heard.filter((n) => n.ownerId === 'carol').map((n) => n.type))).toEqual([
        'turn.started',
        'turn.finished',
      ]);
      carol.disconnect();
    } finally {
      await pg.end();
    }
  });

  it('should reach a subscriber on replica A with a turn run on replica B right after it subscribed', async () => {
    const id = (await call('POST', `${b.url}${BASE}`, DAVE, {})).body.id as string;
    const socket = await TestSocket.open(a.url, { headers: DAVE });
    socket.send({ type: 'events.subscribe', requestId: 'r1' });
    await socket.waitForType('events.subscribed');

    const turn = await call('POST', `${b.url}${BASE}/${id}/messages`, DAVE, { message: 'Hello' });
    expect(turn.status).toBe(201);
    const finished = await socket.waitFor(
      (m) => m.type === 'turn.finished' && m.data.conversationId === id,
    );
    expect(finished.data).toEqual({
      conversationId: id,
      assistantMessageId: turn.body.assistantMessage.id,
      status: 'complete',
    });
    expect(socket.types().slice(0, 3)).toEqual([
      'events.subscribed',
      'turn.started',
      'turn.finished',
    ]);
    socket.ws.close();
  });
});
