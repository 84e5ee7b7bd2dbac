import { spawn } from 'node:child_process';

import { Client } from 'pg';

import { createTestDatabase } from './utils/database';
import { freePort } from './utils/free-port';
import { CONVERSATIONS as BASE, CLOSED_PROVIDER_URL, withTestApp } from './utils/harness';
import { ProductionBuild } from './utils/production-build';

// Compiling the production build takes a while (unless sources are unchanged since the
// last run): it starts with this file and runs beside the tests before the one needing it.
let build: ProductionBuild | undefined;
beforeAll(() => {
  build = ProductionBuild.start();
});
afterAll(() => build?.stop());

describe('Operations: logs, correlation ids, metrics, readiness', () => {
  const t = withTestApp({ logs: true, env: { LMSTUDIO_MODEL: 'fake-model' } });

  it('should write one JSON line per request with method, route, status, duration and correlation id', async () => {
    const created = await t.http.post(BASE).send({}).expect(201);
    const res = await t.http
      .get(`${BASE}/${created.body.id}`)
      .set('X-Correlation-ID', 'trace-42')
      .expect(200);
    expect(res.headers['x-correlation-id']).toBe('trace-42');
    expect(res.headers['x-process-time']).toMatch(/^\d+(\.\d+)?ms$/);
    // The line is written when the response finishes, a moment after the client has it.
    await t.waitForLog((l) => l.msg === 'request completed' && l.correlationId === 'trace-42');
    const lines = t.logs.filter(
      (l) => l.msg === 'request completed' && l.correlationId === 'trace-42',
    );
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      req: { method: 'GET', url: `${BASE}/${created.body.id}` },
      res: { statusCode: 200 },
      route: '/api/v1/conversations/:id',
      responseTime: expect.any(Number),
    });
  });

  it('should generate a correlation id when none or a hostile one is given, and put it in error bodies', async () => {
    const res = await t.http
      .get(`${BASE}/not-a-uuid`)
      .set('X-Correlation-ID', 'x'.repeat(500))
      .expect(400);
    expect(res.headers['x-correlation-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.body.correlationId).toBe(res.headers['x-correlation-id']);
    await t.waitForLog((l) => l.correlationId === res.body.correlationId);
  });

  it('should log one line per chat turn, with its correlation id, without the message text', async () => {
    const id = await t.createConversation();
    await t.send(id, 'my private words', { headers: { 'X-Correlation-ID': 'turn-trace-7' } });
    const turn = t.logs.find((l) => l.msg === 'chat turn' && l.conversationId === id);
    expect(turn).toMatchObject({
      correlationId: 'turn-trace-7',
      alias: 'lmstudio/default',
      upstreamModel: 'fake-model',
      outcome: 'complete',
      latencyMs: expect.any(Number),
      ttftMs: expect.any(Number),
      promptTokens: expect.any(Number),
      completionTokens: expect.any(Number),
    });
    expect(JSON.stringify(t.logs)).not.toContain('my private words');
  });

  it('should put the correlation id on a provider retry, through a turn and through /v1', async () => {
    const id = await t.createConversation();
    t.fake.script({ kind: 'error', status: 503 });
    await t.send(id, 'retry me', { headers: { 'X-Correlation-ID': 'retry-trace-1' } });
    t.fake.script({ kind: 'error', status: 503 });
    await t.http
      .post('/v1/chat/completions')
      .set('X-Correlation-ID', 'retry-trace-2')
      .send({ model: 'lmstudio/default', messages: [{ role: 'user', content: 'retry me' }] })
      .expect(200);
    for (const correlationId of ['retry-trace-1', 'retry-trace-2'])
      await t.waitForLog(
        (l) => l.msg === 'retrying provider call' && l.correlationId === correlationId,
      );
  });

  it('should log message text only with LOG_MESSAGES=true', async () => {
    const app = await t.startApp({ env: { LOG_MESSAGES: 'true' } });
    const id = await app.createConversation();
    await app.send(id, 'words to log');
    expect(app.logs.find((l) => l.msg === 'chat turn')).toMatchObject({ message: 'words to log' });
    await app.close();
  });

  it('should expose Prometheus metrics that chat turns move', async () => {
    const metric = async (pattern: RegExp): Promise<number> => {
      const text = (
        await t.http
          .get('/metrics')
          .expect(200)
          .expect('Content-Type', /text\/plain/)
      ).text;
      const match = text.split('\n').find((line) => pattern.test(line));
      return match ? Number(match.split(' ').at(-1)) : 0;
    };
    const completed = /^chat_turns_total\{alias="lmstudio\/default",outcome="complete"\}/;
    const authErrors =
      /^llm_provider_errors_total\{provider="lmstudio",code="provider_auth_failed"\}/;
    const before = { turns: await metric(completed), errors: await metric(authErrors) };

    const id = await t.createConversation();
    await t.send(id, 'count me');
    t.fake.script({ kind: 'error', status: 401 });
    await t.send(id, 'fail me', { expect: 502 });

    expect(await metric(completed)).toBe(before.turns + 1);
    expect(await metric(authErrors)).toBe(before.errors + 1);
    expect(
      await metric(/^chat_tokens_total\{alias="lmstudio\/default",kind="completion"\}/),
    ).toBeGreaterThan(0);
    expect(
      await metric(/^chat_turn_latency_seconds_count\{alias="lmstudio\/default"\}/),
    ).toBeGreaterThanOrEqual(2);
    expect(
      await metric(/^chat_time_to_first_token_seconds_count\{alias="lmstudio\/default"\}/),
    ).toBeGreaterThanOrEqual(1);
    expect(await metric(/^chat_active_generations /)).toBe(0);
    expect(await metric(/^db_pool_connections\{state="total"\}/)).toBeGreaterThan(0);
    expect(
      await metric(
        /^http_request_duration_seconds_count\{method="POST",route="\/api\/v1\/conversations\/:id\/messages",status="201"\}/,
      ),
    ).toBeGreaterThanOrEqual(1);
  });

  it('should report database and provider reachability with latencies on /health/ready', async () => {
    const res = await t.http.get('/health/ready').expect(200);
    expect(res.body.checks.database).toMatchObject({ status: 'up', latencyMs: expect.any(Number) });
    expect(res.body.checks['provider:lmstudio']).toMatchObject({
      status: 'up',
      latencyMs: expect.any(Number),
    });
    expect(res.body.checks['provider:groq']).toMatchObject({ status: 'not_configured' });
  });

  it('should stay ready (200) when only the provider is down, reporting why', async () => {
    const app = await t.startApp({ env: { LMSTUDIO_BASE_URL: CLOSED_PROVIDER_URL } });
    const res = await app.http.get('/health/ready').expect(200);
    expect(res.body.checks['provider:lmstudio'].status).toBe('down');
    // Public: why, but not where (GET /api/v1/models names the URL).
    expect(res.body.checks['provider:lmstudio'].reason).toContain('Could not reach LM Studio');
    expect(res.text).not.toContain('127.0.0.1:9');
    await app.close();
  });
});

describe('Production start (node dist/main.js)', () => {
  beforeAll(() => build!.ready(), 120_000);

  it('should migrate a fresh database, serve /health, and exit cleanly on SIGTERM', async () => {
    const db = await createTestDatabase({ empty: true });
    const port = await freePort();
    const child = spawn(process.execPath, [build!.main], {
      cwd: build!.root,
      env: {
        ...process.env,
        DATABASE_URL: db.url,
        PORT: String(port),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const exited = new Promise<number | null>((resolve) =>
      child.on('exit', (code) => resolve(code)),
    );
    try {
      const deadline = Date.now() + 60_000;
      let healthy = false;
      while (!healthy && Date.now() < deadline) {
        healthy = await fetch(`http://127.0.0.1:${port}/health`).then(
          (r) => r.ok,
          () => false,
        );
        if (!healthy) await new Promise((r) => setTimeout(r, 200));
      }
      expect({ healthy, output }).toMatchObject({ healthy: true });
      expect(output).toContain('applied pending migrations');
      const created = await fetch(`http://127.0.0.1:${port}${BASE}`, { method: 'POST' });
      expect(created.status).toBe(201);

      const client = new Client({ connectionString: db.url });
      await client.connect();
      const tables = await client.query(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
      );
      await client.end();
      expect(tables.rows.map((r: { tablename: string }) => r.tablename)).toEqual(
        expect.arrayContaining(['_prisma_migrations', 'conversations', 'messages']),
      );

      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
      await db.drop();
    }
  }, 90_000);
});
