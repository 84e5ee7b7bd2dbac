import { sql } from 'kysely';
import { Client } from 'pg';

import { Db } from '../src/database/db';

import { createTestDatabase, TestDatabase } from './utils/database';
import { TcpProxy } from './utils/tcp-proxy';
import { startTestApp, TestApp } from './utils/test-app';

type LogLine = Record<string, unknown> & { msg?: string };

/** The app reaches its database through a relay the test can cut, as an outage would. */
describe('Database outage', () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let t: TestApp;
  let logs: LogLine[];

  beforeAll(async () => {
    db = await createTestDatabase();
    const target = new URL(db.url);
    proxy = new TcpProxy(target.hostname, Number(target.port));
    const url = new URL(db.url);
    url.port = String(await proxy.start());
    logs = [];
    t = await startTestApp(
      url.toString(),
      { LOG_LEVEL: 'info' },
      { logDestination: { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) } },
    );
  });

  afterAll(async () => {
    await t?.close();
    await proxy?.stop();
    await db?.drop();
  });

  afterEach(async () => {
    await proxy.restore().catch(() => undefined);
  });

  async function until(check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error('condition not met in time');
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  it('should answer 503 database_unavailable with Retry-After while the database is down, and recover', async () => {
    await t.http.get('/api/v1/conversations').expect(200);
    await proxy.cut();

    for (const res of [
      await t.http.get('/api/v1/conversations'),
      await t.http.post('/api/v1/conversations').send({ title: 'x' }),
    ]) {
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({ statusCode: 503, error: 'database_unavailable' });
      expect(res.body.message).toMatch(/database/i);
      expect(res.body.message).not.toMatch(/127\.0\.0\.1|postgres:|password/);
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    }

    await proxy.restore();
    await until(async () => (await t.http.get('/api/v1/conversations')).status === 200);
  });

  it('should fail a query whose connection is cut while it runs, and live on', async () => {
    await t.http.get('/api/v1/conversations').expect(200);
    // A connection reset mid-query also fires the client's 'error' event; a checked-out
    // client has no pool listener then, and an unheard 'error' would end the process.
    const running = sql`select pg_sleep(5)`.execute(t.app.get(Db));
    await new Promise((resolve) => setTimeout(resolve, 300));
    await proxy.cut();
    await expect(running).rejects.toThrow();
    await proxy.restore();
    await until(async () => (await t.http.get('/api/v1/conversations')).status === 200);
  });

  it('should say why the database is not ready', async () => {
    await proxy.cut();
    const res = await t.http.get('/health/ready').expect(503);
    expect(res.body.error).toBe('not_ready');
    expect(res.body.message).toMatch(/^Database unreachable: \S.{5,}/);
  });

  it('should log one line, never a client dump, when idle connections are terminated after Prisma let go of the pool', async () => {
    await t.http.get('/api/v1/conversations').expect(200);
    // The state between Prisma's disconnect and the pool's end during shutdown: the pool
    // still holds idle clients but the adapter's own error listener is gone.
    await t.prisma.$disconnect();
    const before = logs.length;
    const admin = new Client({ connectionString: db.url });
    await admin.connect();
    await admin.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
    );
    await admin.end();

    const lost = (): LogLine[] =>
      logs.slice(before).filter((l) => l.msg?.includes('database connection lost'));
    await until(() => lost().length > 0);
    // One short line per lost client, not the client object.
    for (const line of lost()) {
      expect(line).toMatchObject({
        level: 40,
        msg: 'idle database connection lost: the server ended the connection (57P01)',
      });
      expect(JSON.stringify(line)).not.toMatch(/secretKey|processID|stack/);
    }
    // Still serving: the next query connects afresh.
    await t.http.get('/api/v1/conversations').expect(200);
  });
});
