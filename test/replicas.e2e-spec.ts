import { Pool } from 'pg';

import { FakeLlmServer } from './fake-llm/fake-llm-server';
import { AppProcess, startAppProcess } from './utils/app-process';
import { createTestDatabase, TestDatabase } from './utils/database';
import { ProductionBuild } from './utils/production-build';
import { openSse, SseEvent } from './utils/sse';

const BASE = '/api/v1/conversations';

async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function until<T>(check: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const giveUpAt = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > giveUpAt) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('Several replicas on one database (real processes)', () => {
  let db: TestDatabase;
  let fake: FakeLlmServer;
  const build = ProductionBuild.start();
  let a: AppProcess;
  let b: AppProcess;
  let sql: Pool;

  const env = (): Record<string, string> => ({
    DATABASE_URL: db.url,
    LMSTUDIO_BASE_URL: fake.openAiBaseUrl,
    LMSTUDIO_MODEL: 'fake-model',
    DEFAULT_MODEL: 'lmstudio/default',
    LOG_LEVEL: 'warn',
    CHECKPOINT_MS: '200',
    PROCESS_HEARTBEAT_MS: '250',
    PROCESS_DEAD_AFTER_MS: '1500',
    // One test user plays the 20 users of a busy replica.
    MAX_CONCURRENT_GENERATIONS_PER_OWNER: '50',
  });

  beforeAll(async () => {
    db = await createTestDatabase();
    fake = new FakeLlmServer();
    await fake.start();
    await build.ready();
    [a, b] = await Promise.all([startReplica(), startReplica()]);
    // A pool: the checks below read 20 conversations at once, and one client runs one query at a time.
    sql = new Pool({ connectionString: db.url, max: 4 });
    // Dropping the database at the end ends its sessions (57P01): not an error of the test.
    sql.on('error', () => undefined);
  }, 120_000);

  afterAll(async () => {
    for (const replica of [a, b]) replica?.kill();
    await sql?.end();
    await fake?.stop();
    await db?.drop();
  });

  beforeEach(() => fake.reset());

  async function startReplica(extra: Record<string, string> = {}): Promise<AppProcess> {
    const replica = await startAppProcess(build, { env: { ...env(), ...extra } });
    await replica.waitUntilHealthy();
    return replica;
  }

  const conversation = async (replica: AppProcess): Promise<string> =>
    (await post(`${replica.url}${BASE}`, {})).body.id as string;

  const stored = async (id: string) =>
    (
      await sql.query<{ role: string; status: string; content: string; error_code: string | null }>(
        'SELECT role, status, content, error_code FROM messages WHERE conversation_id = $1 ORDER BY seq',
        [id],
      )
    ).rows;

  /** Characters of the running reply's text checkpointed so far (pieces in turn_checkpoints). */
  const checkpointed = async (id: string) =>
    Number(
      (
        await sql.query<{ chars: string }>(
          `SELECT coalesce(sum(length(t.content)), 0)::text AS chars
           FROM turn_checkpoints t JOIN messages m ON m.id = t.turn_id
           WHERE m.conversation_id = $1 AND m.status = 'streaming'`,
          [id],
        )
      ).rows[0].chars,
    );

  const SLOW_MESSAGE = 'one two three four five six seven eight nine ten';

  /** Starts a slow streamed reply on `replica` in each conversation; waits until each checkpointed. */
  async function slowTurns(replica: AppProcess, ids: string[]): Promise<void> {
    fake.script(...ids.map(() => ({ kind: 'streamSlow' as const, chunkDelayMs: 400 })));
    for (const id of ids) {
      void fetch(`${replica.url}${BASE}/${id}/messages/stream`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ message: SLOW_MESSAGE }),
      }).then((res) => res.text().catch(() => ''));
    }
    for (const id of ids) await until(async () => (await checkpointed(id)) > 0 || undefined);
  }

  it('should run exactly one of two concurrent turns on one conversation across replicas', async () => {
    for (let trial = 0; trial < 5; trial++) {
      const id = await conversation(a);
      fake.script({ kind: 'slow', delayMs: 100 }, { kind: 'slow', delayMs: 100 });
      const results = await Promise.all(
        [a, b].map((r) => post(`${r.url}${BASE}/${id}/messages`, { message: 'hi' })),
      );
      expect(results.map((r) => r.status).sort()).toEqual([201, 409]);
    }
  });

  it('should hold the owner’s limit on replies at once across replicas, storing nothing for the refused', async () => {
    const TURNS = 12;
    const limited = await Promise.all(
      [0, 1].map(() => startReplica({ MAX_CONCURRENT_GENERATIONS_PER_OWNER: '2' })),
    );
    try {
      for (let trial = 0; trial < 4; trial++) {
        const ids = await Promise.all(Array.from({ length: TURNS }, () => conversation(a)));
        let release!: () => void;
        const held = new Promise<void>((resolve) => (release = resolve));
        fake.script(...ids.map(() => ({ kind: 'held' as const, until: held })));
        let refused = 0;
        // Turns on both replicas, each on its own conversation, all at once.
        const turns = ids.map((id, i) =>
          post(`${limited[i % 2].url}${BASE}/${id}/messages`, { message: `turn ${i}` }).then(
            (res) => {
              if (res.status !== 201) refused++;
              return res;
            },
          ),
        );
        // Every turn either reached the provider or was refused.
        await until(() => Promise.resolve(fake.requests.length + refused === TURNS || undefined));
        const running = fake.requests.length;
        release();
        const results = await Promise.all(turns);

        expect(running).toBeGreaterThanOrEqual(1);
        expect(running).toBeLessThanOrEqual(2);
        expect(results.filter((r) => r.status === 201)).toHaveLength(running);
        for (const r of results.filter((r) => r.status !== 201))
          expect(r).toMatchObject({ status: 429, body: { error: 'too_many_generations' } });
        const messages = (await Promise.all(ids.map(stored))).flat();
        expect(messages.filter((m) => m.role === 'user')).toHaveLength(running);
        fake.reset();
      }
    } finally {
      for (const replica of limited) replica.kill();
    }
  });

  it('should show the checkpointed text and cancel a turn from the replica not running it', async () => {
    const id = await conversation(a);
    await slowTurns(a, [id]);

    const status = await fetch(`${b.url}${BASE}/${id}/generation`);
    expect(status.status).toBe(200);
    expect(((await status.json()) as { text: string }).text.length).toBeGreaterThan(0);

    const cancelled = await post(`${b.url}${BASE}/${id}/cancel`, {});
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.assistantMessage).toMatchObject({ status: 'cancelled' });
    await until(() => Promise.resolve(fake.requests[0]?.aborted || undefined));
    expect((await stored(id))[1]).toMatchObject({
      status: 'cancelled',
      error_code: 'turn_cancelled',
    });
  });

  it('should answer an Idempotency-Key retry on the other replica with the running turn, not a second call', async () => {
    const id = await conversation(a);
    fake.script({ kind: 'slow', delayMs: 600 });
    const headers = { 'Idempotency-Key': 'same-key' };
    const first = post(`${a.url}${BASE}/${id}/messages`, { message: 'once' }, headers);
    await until(async () => ((await stored(id)).length === 2 ? true : undefined));
    const retry = await post(`${b.url}${BASE}/${id}/messages`, { message: 'once' }, headers);

    expect(retry.status).toBe(201);
    expect(retry.body.response).toBe((await first).body.response);
    expect(fake.requests).toHaveLength(1);
  });

  it('should resume a stream on the other replica with the same ids, no gap and no repeat', async () => {
    const id = await conversation(a);
    fake.script({ kind: 'streamSlow', chunkDelayMs: 120 });
    const first = await openSse(`${a.url}${BASE}/${id}/messages/stream`, {
      method: 'POST',
      body: { message: 'a b c d e f g h i j' },
    });
    await first.waitFor('message.delta');
    first.disconnect();
    const seen = first.events.map((e) => Number(e.id));
    const last = Math.max(...seen);

    const resumed = await openSse(`${b.url}${BASE}/${id}/generation/events`, {
      method: 'GET',
      headers: { 'Last-Event-ID': String(last) },
    });
    await resumed.ended;
    const ids = resumed.events.map((e) => Number(e.id));
    expect(ids[0]).toBe(last + 1);
    ids.forEach((value, i) => i > 0 && expect(value).toBe(ids[i - 1] + 1));
    expect(resumed.events.at(-1)!.event).toBe('message.completed');
    const text = [...first.events, ...resumed.events]
      .filter((e) => e.event === 'message.delta')
      .map((e) => (JSON.parse(e.data) as { delta: string }).delta)
      .join('');
    expect(text).toBe('Echo: a b c d e f g h i j [messages=2]');
  });

  it('should free the conversations of a replica killed during 20 streams within seconds, keeping every message', async () => {
    const ids = await Promise.all(Array.from({ length: 20 }, () => conversation(a)));
    await slowTurns(a, ids);
    a.kill();
    const killedAt = Date.now();

    const replies = await Promise.all(
      ids.map((id) =>
        until(async () => {
          const assistant = (await stored(id))[1];
          return assistant.status === 'streaming' ? undefined : assistant;
        }, 10_000),
      ),
    );
    for (const reply of replies) {
      expect(reply).toMatchObject({ status: 'failed', error_code: 'turn_interrupted' });
      expect(reply.content.length).toBeGreaterThan(0);
    }
    const next = await Promise.all(
      ids.map((id) => post(`${b.url}${BASE}/${id}/messages`, { message: 'again' })),
    );
    // PROCESS_DEAD_AFTER_MS is 1.5 s here: all 20 are free again well within 5 s.
    expect(Date.now() - killedAt).toBeLessThan(5_000);
    expect(next.map((r) => r.status)).toEqual(ids.map(() => 201));
    for (const id of ids)
      expect((await stored(id)).map((m) => `${m.role}:${m.status}`)).toEqual([
        'user:complete',
        'assistant:failed',
        'user:complete',
        'assistant:complete',
      ]);
    a = await startReplica();
  });

  it('should drain on SIGTERM: a short reply finishes, a long one is stored with its text, and its follower resumes on the other replica', async () => {
    const draining = await startReplica({ SHUTDOWN_TIMEOUT_MS: '1500' });
    const [short, long] = await Promise.all([conversation(draining), conversation(draining)]);
    fake.script(
      { kind: 'streamSlow', chunkDelayMs: 100 },
      { kind: 'streamSlow', chunkDelayMs: 300 },
    );
    const shortStream = await openSse(`${draining.url}${BASE}/${short}/messages/stream`, {
      body: { message: 'one two' },
    });
    await shortStream.waitFor('message.delta');
    const longStream = await openSse(`${draining.url}${BASE}/${long}/messages/stream`, {
      body: { message: `${SLOW_MESSAGE} ${SLOW_MESSAGE}` },
    });
    await longStream.waitFor('message.delta');
    // The load balancer drops the client of the long turn as the replica goes away.
    longStream.disconnect();
    draining.signalGroup('SIGTERM');
    const lastSeen = longStream.events.at(-1)!.id!;

    const resumed = await openSse(`${b.url}${BASE}/${long}/generation/events`, {
      method: 'GET',
      headers: { 'Last-Event-ID': lastSeen },
    });
    await Promise.all([shortStream.ended, resumed.ended]);
    expect(await draining.exited).toMatchObject({ code: 0 });

    expect(shortStream.events.at(-1)!.event).toBe('message.completed');
    expect((await stored(short))[1]).toMatchObject({ status: 'complete' });
    expect(resumed.status).toBe(200);
    expect(Number(resumed.events[0].id)).toBe(Number(lastSeen) + 1);
    expect(resumed.events.at(-1)).toMatchObject({ event: 'error' });
    expect(JSON.parse(resumed.events.at(-1)!.data)).toMatchObject({ code: 'server_shutdown' });
    const reply = (await stored(long))[1];
    expect(reply).toMatchObject({ status: 'failed', error_code: 'server_shutdown' });
    expect(reply.content).toBe(deltas([...longStream.events, ...resumed.events]));
    expect(reply.content.length).toBeGreaterThan(0);
  });
});

function deltas(events: SseEvent[]): string {
  return events
    .filter((e) => e.event === 'message.delta')
    .map((e) => (JSON.parse(e.data) as { delta: string }).delta)
    .join('');
}
