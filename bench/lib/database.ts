import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { Client, Pool } from 'pg';

import { EmbeddedDatabase } from '../../src/database/embedded-database';
import { applyMigrations } from '../../src/database/migrations';
import { freePort } from './processes';

const TEMPLATE = 'bench_template';

async function withClient<T>(url: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/**
 * A throw-away embedded PostgreSQL with default durability (fsync, synchronous_commit),
 * pg_stat_statements loaded, and one migrated database per system under test.
 */
export class BenchDatabase {
  private constructor(
    private readonly server: EmbeddedDatabase,
    readonly dataDir: string,
  ) {}

  static async start(databases: string[], log: (line: string) => void): Promise<BenchDatabase> {
    // Not mkdtemp: its 0700 folder would shut out the postgres user the server runs as under root.
    const dataDir = path.join(os.tmpdir(), `chat-bench-pg-${randomBytes(6).toString('hex')}`);
    // persistent: the server is restarted once below, which must not delete its data.
    const server = new EmbeddedDatabase({ dataDir, port: await freePort(), persistent: true });
    const db = new BenchDatabase(server, dataDir);
    try {
      await server.start();
      await withClient(server.url(), async (client) => {
        await client.query(`ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'`);
        await client.query(`ALTER SYSTEM SET max_connections = 300`);
        await client.query(`ALTER SYSTEM SET pg_stat_statements.track_utility = on`);
        // Planning counts too: the service plans a statement once per connection (named
        // prepared statements), the floor plans each one it sends.
        await client.query(`ALTER SYSTEM SET pg_stat_statements.track_planning = on`);
      });
      await server.stop();
      await server.start();
      await withClient(server.url(), async (client) => {
        await client.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
        const settings = await client.query<{ name: string; setting: string }>(
          `SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'shared_buffers', 'max_connections')`,
        );
        log(`PostgreSQL: ${settings.rows.map((r) => `${r.name}=${r.setting}`).join(', ')}`);
      });
      await server.createDatabase(TEMPLATE);
      await applyMigrations(server.url(TEMPLATE));
      for (const name of databases) await server.createDatabase(name, TEMPLATE);
      return db;
    } catch (error) {
      await db.stop();
      throw error;
    }
  }

  url(database: string): string {
    return this.server.url(database);
  }

  async stop(): Promise<void> {
    try {
      await this.server.stop();
    } finally {
      await rm(this.dataDir, { recursive: true, force: true });
    }
  }
}

/**
 * Inserts `count` conversations, each with `history` short complete messages, straight in
 * SQL (setup, not measured). Returns their ids.
 */
export async function createConversations(
  pool: Pool,
  count: number,
  history: number,
): Promise<string[]> {
  // Each conversation one linear path ending at its current leaf (ids derived from the seq).
  const messageId = (seq: string) => `md5(c.id::text || '/' || ${seq})::uuid`;
  const result = await pool.query<{ id: string }>(
    `WITH c AS (
       INSERT INTO conversations (id, next_seq, current_leaf_id)
       SELECT id, $2::int, CASE WHEN $2::int > 0 THEN md5(id::text || '/' || ($2::int - 1))::uuid END
       FROM (SELECT gen_random_uuid() AS id FROM generate_series(1, $1::int)) ids
       RETURNING id
     ), m AS (
       INSERT INTO messages (id, conversation_id, parent_id, seq, role, content, status, token_count)
       SELECT ${messageId('s')}, c.id, CASE WHEN s > 0 THEN ${messageId('(s - 1)')} END, s,
              (CASE WHEN s % 2 = 0 THEN 'user' ELSE 'assistant' END)::"MessageRole",
              CASE WHEN s % 2 = 0 THEN 'bench turn' ELSE 'Echo: bench turn [messages=' || (s + 1) || ']' END,
              'complete', 8
       FROM c, generate_series(0, $2::int - 1) s
     )
     SELECT id FROM c`,
    [count, history],
  );
  return result.rows.map((row) => row.id);
}

/**
 * A conversation with `count` long messages (~2 KB, `tokens` tokens each, incompressible
 * text like real replies), for the history-length figures.
 */
export async function createLongConversation(
  pool: Pool,
  count: number,
  tokens: number,
): Promise<string> {
  // One linear path: each message's parent is the one before it (ids derived from the seq).
  const messageId = (seq: string) => `md5(c.id::text || '/' || ${seq})::uuid`;
  const result = await pool.query<{ id: string }>(
    `WITH c AS (
       INSERT INTO conversations (id, next_seq) VALUES (gen_random_uuid(), $1::int) RETURNING id
     ), m AS (
       INSERT INTO messages (id, conversation_id, parent_id, seq, role, content, status, token_count)
       SELECT ${messageId('s')}, c.id, CASE WHEN s > 0 THEN ${messageId('(s - 1)')} END, s,
              (CASE WHEN s % 2 = 0 THEN 'user' ELSE 'assistant' END)::"MessageRole",
              (SELECT string_agg(md5(s::text || '/' || w::text), ' ') FROM generate_series(1, 64) w),
              'complete', $2::int
       FROM c, generate_series(0, $1::int - 1) s
     )
     SELECT id FROM c`,
    [count, tokens],
  );
  const id = result.rows[0].id;
  await pool.query(
    `UPDATE conversations SET current_leaf_id = md5(id::text || '/' || ($2::int - 1))::uuid
     WHERE id = $1`,
    [id, count],
  );
  return id;
}

/** The prompt the history of a long conversation gives, as the service would build it. */
export async function longHistoryPrompt(
  pool: Pool,
  conversationId: string,
  rows: number,
): Promise<{ role: string; content: string }[]> {
  const result = await pool.query<{ role: string; content: string }>(
    `SELECT role::text AS role, content FROM (
       SELECT role, content, seq FROM messages WHERE conversation_id = $1 ORDER BY seq DESC LIMIT $2
     ) newest ORDER BY seq`,
    [conversationId, rows],
  );
  return result.rows;
}

/** Deletes what the turns added after the seeded messages, so every turn sees the same history. */
export async function trimConversation(
  pool: Pool,
  conversationId: string,
  keep: number,
): Promise<void> {
  await pool.query('DELETE FROM messages WHERE conversation_id = $1 AND seq >= $2', [
    conversationId,
    keep,
  ]);
  // The next turn continues from the last seeded message again.
  await pool.query(
    `UPDATE conversations SET current_leaf_id =
       (SELECT id FROM messages WHERE conversation_id = $1 AND seq = $2::int - 1) WHERE id = $1`,
    [conversationId, keep],
  );
}

export interface DbCounters {
  /** pg_stat_statements calls in the database, by statement. */
  statements: Map<string, { calls: number; execMs: number; planMs: number; query: string }>;
  /** The next transaction id: its advance counts write transactions, machine-wide. */
  nextXid: bigint;
  xactCommit: number;
}

/** Reads the counters from the admin database (its own queries are not counted). */
export async function readCounters(adminPool: Pool, database: string): Promise<DbCounters> {
  const statements = await adminPool.query<{
    queryid: string;
    calls: string;
    exec_ms: number;
    plan_ms: number;
    query: string;
  }>(
    `SELECT s.queryid::text AS queryid, s.calls::text AS calls, s.total_exec_time AS exec_ms,
            s.total_plan_time AS plan_ms, s.query
     FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = $1`,
    [database],
  );
  const xid = await adminPool.query<{ xmax: string }>(
    'SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS xmax',
  );
  const commits = await adminPool.query<{ xact_commit: string }>(
    'SELECT xact_commit::text FROM pg_stat_database WHERE datname = $1',
    [database],
  );
  return {
    statements: new Map(
      statements.rows.map((row) => [
        row.queryid,
        { calls: Number(row.calls), execMs: row.exec_ms, planMs: row.plan_ms, query: row.query },
      ]),
    ),
    nextXid: BigInt(xid.rows[0].xmax),
    xactCommit: Number(commits.rows[0]?.xact_commit ?? 0),
  };
}

export interface StatementDelta {
  query: string;
  calls: number;
  /** Mean time PostgreSQL spent executing it, ms. */
  meanExecMs: number;
  /** Mean time PostgreSQL spent planning it, ms (0 for a prepared statement's cached plan). */
  meanPlanMs: number;
}

export function statementDelta(before: DbCounters, after: DbCounters): StatementDelta[] {
  const deltas: StatementDelta[] = [];
  for (const [id, entry] of after.statements) {
    const previous = before.statements.get(id);
    const calls = entry.calls - (previous?.calls ?? 0);
    const execMs = entry.execMs - (previous?.execMs ?? 0);
    const planMs = entry.planMs - (previous?.planMs ?? 0);
    if (calls > 0) {
      deltas.push({
        query: entry.query.replace(/\s+/g, ' ').trim(),
        calls,
        meanExecMs: Math.round((execMs / calls) * 1000) / 1000,
        meanPlanMs: Math.round((planMs / calls) * 1000) / 1000,
      });
    }
  }
  return deltas.sort((a, b) => b.calls - a.calls);
}

/** Where a conversation's summary job stands: whether one holds it, and the messages folded so far. */
export async function summaryState(
  pool: Pool,
  conversationId: string,
): Promise<{ leased: boolean; folded: number }> {
  const result = await pool.query<{ leased: boolean; folded: number | null }>(
    `SELECT c.summary_lease_until IS NOT NULL AS leased,
            (SELECT max(summarized_count) FROM memory_marks m WHERE m.conversation_id = c.id) AS folded
     FROM conversations c WHERE c.id = $1`,
    [conversationId],
  );
  const row = result.rows[0];
  return { leased: row.leased, folded: row.folded ?? 0 };
}
