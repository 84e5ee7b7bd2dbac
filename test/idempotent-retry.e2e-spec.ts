import { Pool } from 'pg';

import { FakeLlmServer } from './fake-llm/fake-llm-server';
import { AppProcess, startAppProcess } from './utils/app-process';
import { createTestDatabase, TestDatabase } from './utils/database';
import { withTestApp } from './utils/harness';
import { ProductionBuild } from './utils/production-build';

const BASE = '/api/v1/conversations';

interface Body {
  error?: string;
  userMessageId?: string;
  assistantMessageId?: string;
  response?: string;
  userMessage?: { id: string };
  assistantMessage?: { id: string; status: string };
}

describe('Idempotent retries of a failed turn', () => {
  describe('one process', () => {
    const t = withTestApp({ env: { LLM_MAX_RETRIES: '0' } });

    it('should run a reply that failed on a provider 503 again in place on a same-key retry', async () => {
      const id = await t.createConversation();
      const headers = { 'Idempotency-Key': 'retry-503' };
      t.fake.script({ kind: 'error', status: 503 });
      const first = await t.send(id, 'hello', { headers, expect: 503 });
      const failed = first.body as Body;
      expect(failed.error).toBe('provider_unavailable');
      expect(first.headers['retry-after']).toBeDefined();
      expect(typeof failed.userMessageId).toBe('string');
      expect(typeof failed.assistantMessageId).toBe('string');

      const again = await t.send(id, 'hello', { headers });
      const reply = again.body as Body;
      expect(reply.response).toMatch(/^Echo: hello/);
      expect(reply.userMessage?.id).toBe(failed.userMessageId);
      expect(reply.assistantMessage?.id).not.toBe(failed.assistantMessageId);

      // And once more: the reply it got, not a third one.
      const replayed = await t.send(id, 'hello', { headers });
      expect((replayed.body as Body).assistantMessage?.id).toBe(reply.assistantMessage?.id);
      const stored = await t.storedMessages(id);
      expect(stored.map((m) => [m.role, m.status, m.errorCode])).toEqual([
        ['user', 'complete', null],
        ['assistant', 'failed', 'provider_unavailable'],
        ['assistant', 'complete', null],
      ]);
      expect(t.fake.requests).toHaveLength(2);
    });

    it('should answer a same-key retry of a permanent failure with the stored error, without Retry-After', async () => {
      const id = await t.createConversation();
      const headers = { 'Idempotency-Key': 'retry-400' };
      t.fake.script({ kind: 'error', status: 400 });
      const first = await t.send(id, 'hello', { headers, expect: 502 });
      expect(first.body.error).toBe('provider_rejected_request');
      expect(first.headers['retry-after']).toBeUndefined();
      expect(typeof first.body.userMessageId).toBe('string');

      const again = await t.send(id, 'hello', { headers, expect: 502 });
      expect(again.body.error).toBe('provider_rejected_request');
      expect(again.headers['retry-after']).toBeUndefined();
      const ids = (b: Body) => [b.userMessageId, b.assistantMessageId];
      expect(ids(again.body as Body)).toEqual(ids(first.body as Body));
      expect(await t.storedMessages(id)).toHaveLength(2);
      expect(t.fake.requests).toHaveLength(1);
    });
  });

  describe('a replica killed mid-turn (real processes)', () => {
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
    });

    beforeAll(async () => {
      db = await createTestDatabase();
      fake = new FakeLlmServer();
      await fake.start();
      await build.ready();
      [a, b] = await Promise.all(
        [0, 1].map(async () => {
          const replica = await startAppProcess(build, { env: env() });
          await replica.waitUntilHealthy();
          return replica;
        }),
      );
      sql = new Pool({ connectionString: db.url, max: 2 });
      // Dropping the database at the end ends its sessions (57P01): not an error of the test.
      sql.on('error', () => undefined);
    }, 180_000);

    afterAll(async () => {
      for (const replica of [a, b]) replica?.kill();
      await sql?.end();
      await fake?.stop();
      await db?.drop();
    });

    const post = async (url: string, body: unknown, headers: Record<string, string> = {}) => {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as Body };
    };

    it('should give a same-key retry on the other replica a complete reply and store one user message', async () => {
      const id = (await post(`${a.url}${BASE}`, {})).body as { id?: string };
      const conversationId = id.id!;
      const headers = { 'Idempotency-Key': 'killed-mid-turn' };
      fake.script({ kind: 'hang' });
      const lost = post(`${a.url}${BASE}/${conversationId}/messages`, { message: 'hi' }, headers);
      lost.catch(() => undefined);
      await fake.waitForRequests(1);
      a.kill();
      await a.exited;

      const retried = await post(
        `${b.url}${BASE}/${conversationId}/messages`,
        { message: 'hi' },
        headers,
      );
      expect(retried.status).toBe(201);
      expect(retried.body.response).toMatch(/^Echo: hi/);
      const rows = (
        await sql.query<{ role: string; status: string; error_code: string | null }>(
          'SELECT role, status, error_code FROM messages WHERE conversation_id = $1 ORDER BY seq',
          [conversationId],
        )
      ).rows;
      expect(rows.map((r) => [r.role, r.status, r.error_code])).toEqual([
        ['user', 'complete', null],
        ['assistant', 'failed', 'turn_interrupted'],
        ['assistant', 'complete', null],
      ]);
      expect(retried.body.userMessage?.id).toBeDefined();
    }, 60_000);
  });
});
