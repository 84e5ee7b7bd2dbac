import { ChildProcess, spawn } from 'node:child_process';

import { Client } from 'pg';

import { FakeLlmServer } from './fake-llm/fake-llm-server';
import { createTestDatabase, TestDatabase } from './utils/database';
import { freePort } from './utils/free-port';
import { ProductionBuild } from './utils/production-build';
import { openSse } from './utils/sse';

const BASE = '/api/v1/conversations';

interface Replica {
  url: string;
  child: ChildProcess;
  output: string[];
}

async function startReplica(build: ProductionBuild, env: Record<string, string>): Promise<Replica> {
  const port = await freePort();
  const child = spawn(process.execPath, [build.main], {
    cwd: build.root,
    env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`replica exited: ${output.join('')}`);
    try {
      if ((await fetch(`${url}/health`)).ok) return { url, child, output };
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`replica did not start: ${output.join('')}`);
}

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
  let a: Replica;
  let b: Replica;
  let sql: Client;

  const env = (): Record<string, string> => ({
    DATABASE_URL: db.url,
    LMSTUDIO_BASE_URL: fake.openAiBaseUrl,
    LMSTUDIO_MODEL: 'fake-model',
    DEFAULT_MODEL: 'lmstudio/default',
    CHECKPOINT_MS: '200',
    PROCESS_HEARTBEAT_MS: '250',
    PROCESS_DEAD_AFTER_MS: '1500',
  });

  beforeAll(async () => {
    db = await createTestDatabase();
    fake = new FakeLlmServer();
    await fake.start();
    await build.ready();
    [a, b] = await Promise.all([startReplica(build, env()), startReplica(build, env())]);
    sql = new Client({ connectionString: db.url });
    await sql.connect();
  }, 120_000);

  afterAll(async () => {
    for (const replica of [a, b]) replica?.child.kill('SIGKILL');
    await sql?.end();
    await fake?.stop();
    await db?.drop();
  });

  beforeEach(() => fake.reset());

  const conversation = async (replica: Replica): Promise<string> =>
    (await post(`${replica.url}${BASE}`, {})).body.id as string;

  const stored = async (id: string) =>
    (
      await sql.query<{ role: string; status: string; content: string; error_code: string | null }>(
        'SELECT role, status, content, error_code FROM messages WHERE conversation_id = $1 ORDER BY seq',
        [id],
      )
    ).rows;

  /** Starts a slow streamed reply on `replica` and waits until some of it was checkpointed. */
  async function slowTurn(replica: Replica, id: string): Promise<void> {
    fake.script({ kind: 'streamSlow', chunkDelayMs: 400 });
    void fetch(`${replica.url}${BASE}/${id}/messages/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'one two three four five six seven eight nine ten' }),
    }).then((res) => res.text().catch(() => ''));
    await until(async () => ((await stored(id))[1]?.content.length ?? 0) > 0 || undefined);
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

  it('should show the checkpointed text and cancel a turn from the replica not running it', async () => {
    const id = await conversation(a);
    await slowTurn(a, id);

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

  it('should free the conversations of a killed replica within seconds, keeping the checkpointed text', async () => {
    const ids = await Promise.all([1, 2, 3].map(() => conversation(a)));
    for (const id of ids) await slowTurn(a, id);
    a.child.kill('SIGKILL');

    for (const id of ids) {
      const row = await until(async () => {
        const assistant = (await stored(id))[1];
        return assistant.status === 'streaming' ? undefined : assistant;
      }, 10_000);
      expect(row).toMatchObject({ status: 'failed', error_code: 'turn_interrupted' });
      expect(row.content.length).toBeGreaterThan(0);
      expect((await stored(id))[0]).toMatchObject({ role: 'user', status: 'complete' });
      const next = await post(`${b.url}${BASE}/${id}/messages`, { message: 'again' });
      expect(next.status).toBe(201);
    }
    a = await startReplica(build, env());
  });
});
