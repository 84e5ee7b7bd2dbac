/**
 * What the search indexes' pending lists cost, alone on the scale scenario's cached database
 * (built by `npm run bench -- --only scale`): `npx tsx bench/search-index-probe.ts`.
 *
 * Inserts: 1,000 of the big database's assistant replies inserted again, one statement
 *    each, back to back, after a CHECKPOINT, under each way of keeping the GIN indexes: the
 *    default pending list (4 MB), the same with a merge every second from another
 *    connection (SEARCH_INDEX_MERGE_MS), a 64 kB pending list, and no pending list
 *    (fastupdate off). Latency, WAL per insert, and what is left to merge (and how long
 *    that merge takes). The rows are deleted and the settings reset afterwards.
 * Searches: after 3,000 short user messages inserted with the default, the big owner's
 * search for the common and the rare word as the service sends it (a prepared statement, executed 8 times: the last 7 timed),
 * with those inserts' entries pending, and again once they are merged.
 */
import { Client } from 'pg';

import { ConversationSearchRepository } from '../src/conversations/search/conversation-search.repository';
import { compilingDb } from '../src/database/compiling-db';
import type { Db } from '../src/database/db';
import { EmbeddedDatabase } from '../src/database/embedded-database';
import { freePort } from './lib/processes';
import { percentile } from './lib/stats';
import { bigOwner, COMMON_WORD, RARE_WORD } from './scale/dataset';
import { SCALE_DATABASES, scaleDataDir } from './scale/seed';

const INDEXES = ['messages_search_idx', 'messages_owner_search_idx'];
const MERGE = `select ${INDEXES.map((i) => `gin_clean_pending_list('${i}')`).join(' + ')} as pages`;
const INSERTS = 1_000;
/**
 * Short messages whose pending entries the searches read: about what three bench runs' turns
 * had left in messages_search_idx (2,950 messages in 40 pages).
 */
const SEARCHED = 3_000;

const compiler = compilingDb();

const literal = (value: unknown) =>
  typeof value === 'string' ? `'${value.replace(/'/g, "''")}'` : String(value);

async function pendingPages(c: Client): Promise<number> {
  await c.query('create extension if not exists pgstattuple');
  const result = await c.query<{ pages: number }>(
    `select sum((pgstatginindex(i)).pending_pages)::int as pages from unnest($1::regclass[]) i`,
    [INDEXES],
  );
  return result.rows[0].pages;
}

async function searches(c: Client, label: string): Promise<void> {
  const repository = new ConversationSearchRepository(compiler) as unknown as {
    buildSearch(filter: object, q: string, limit: number): { compile(db: Db): CompiledQuery };
  };
  for (const word of [COMMON_WORD, RARE_WORD]) {
    const query = repository
      .buildSearch({ ownerId: bigOwner(0), archived: false }, word, 21)
      .compile(compiler);
    await c.query('deallocate all');
    await c.query(`prepare search as ${query.sql}`);
    const execute = `execute search(${query.parameters.map(literal).join(', ')})`;
    const times: number[] = [];
    for (let i = 0; i < 8; i++) {
      const plan = await c.query<{ 'QUERY PLAN': string }>(`explain (analyze, buffers) ${execute}`);
      const text = plan.rows.map((row) => row['QUERY PLAN']).join('\n');
      times.push(Number(/Execution Time: ([\d.]+)/.exec(text)?.[1]));
      if (i === 7)
        console.log(
          `${label}, "${word}": ${times
            .slice(1)
            .map((t) => t.toFixed(1))
            .join(' ')} ms; ${perConversationProbe(text)}`,
        );
    }
  }
}

/** How the plan probes each conversation's messages: the index, probes, buffers each. */
function perConversationProbe(plan: string): string {
  const lines = plan.split('\n');
  const at = lines.findIndex((line) =>
    /(Index Scan on messages_search_idx|Index Scan using messages_conversation_seq_key on messages m_).*loops=([2-9]|\d\d)/.test(
      line,
    ),
  );
  if (at < 0) return 'no per-conversation probe';
  const index = /messages_search_idx|messages_conversation_seq_key/.exec(lines[at])?.[0];
  const loops = Number(/loops=(\d+)/.exec(lines[at])?.[1]);
  const buffers = lines
    .slice(at + 1, at + 6)
    .map((line) => /Buffers: shared hit=(\d+)/.exec(line)?.[1])
    .find(Boolean);
  return `${loops} probes of ${index}, ${(Number(buffers) / loops).toFixed(0)} buffers each`;
}

interface CompiledQuery {
  sql: string;
  parameters: readonly unknown[];
}

async function inserts(c: Client, dbUrl: string): Promise<void> {
  const sample = async (role: string, count: number, maxLength = 100_000) =>
    (
      await c.query<{ id: string }>(
        `select id from messages tablesample system (0.2)
         where status = 'complete' and role = $1 and length(content) < $3 limit $2`,
        [role, count, maxLength],
      )
    ).rows.map((row) => row.id);
  const replies = await sample('assistant', INSERTS);
  const questions = await sample('user', SEARCHED, 300);
  const conversation = (
    await c.query<{ id: string }>(
      `select id from conversations where owner_id = $1 order by next_seq desc limit 1`,
      [bigOwner(0)],
    )
  ).rows[0].id;
  const ways: { label: string; set: string; mergeEveryMs?: number; sources?: string[] }[] = [
    // As many pending entries as a few hundred of the bench's turns leave: searched below.
    {
      label: `${questions.length} short messages, default`,
      set: 'reset (gin_pending_list_limit, fastupdate)',
      sources: questions,
    },
    {
      label: 'pending list of 4 MB (the default)',
      set: 'reset (gin_pending_list_limit, fastupdate)',
    },
    {
      label: 'the same, merged every second',
      set: 'reset (gin_pending_list_limit, fastupdate)',
      mergeEveryMs: 1000,
    },
    { label: 'pending list of 64 kB', set: 'set (gin_pending_list_limit = 64)' },
    { label: 'no pending list (fastupdate off)', set: 'set (fastupdate = off)' },
  ];
  try {
    for (const way of ways) {
      for (const index of INDEXES) await c.query(`alter index ${index} ${way.set}`);
      await c.query(MERGE);
      await c.query('checkpoint');
      const wal0 = (await c.query<{ lsn: string }>('select pg_current_wal_lsn()::text as lsn'))
        .rows[0].lsn;
      let merging = way.mergeEveryMs !== undefined;
      const merger = new Client({ connectionString: dbUrl });
      await merger.connect();
      const merges: number[] = [];
      const merged = (async () => {
        while (merging) {
          await new Promise((resolve) => setTimeout(resolve, way.mergeEveryMs));
          const started = performance.now();
          await merger.query(MERGE);
          merges.push(performance.now() - started);
        }
      })();
      const times: number[] = [];
      let seq = 2_000_000;
      for (const id of way.sources ?? replies) {
        const started = performance.now();
        await c.query(
          `insert into messages (id, conversation_id, owner_id, seq, role, content, status)
           select gen_random_uuid(), $1, $2, $3, role, content, 'complete' from messages where id = $4`,
          [conversation, bigOwner(0), seq++, id],
        );
        times.push(performance.now() - started);
      }
      merging = false;
      await merged;
      await merger.end();
      const wal = (
        await c.query<{ bytes: string }>(
          `select pg_wal_lsn_diff(pg_current_wal_lsn(), $1)::text as bytes`,
          [wal0],
        )
      ).rows[0].bytes;
      const left = await pendingPages(c);
      if (way === ways[0]) await searches(c, `with ${left} pending pages`);
      const started = performance.now();
      await c.query(MERGE);
      const leftMs = performance.now() - started;
      if (way === ways[0]) await searches(c, 'merged');
      console.log(
        `${way.label}: insert p50 ${percentile(times, 50).toFixed(2)} ms, p99 ${percentile(times, 99).toFixed(2)}, ` +
          `max ${Math.max(...times).toFixed(1)}; WAL ${(Number(wal) / times.length / 1024).toFixed(1)} KB an insert; ` +
          `${left} pages left to merge (${leftMs.toFixed(0)} ms)` +
          (merges.length
            ? `; ${merges.length} merges of ${merges.map((m) => m.toFixed(0)).join(', ')} ms`
            : ''),
      );
      await c.query(`delete from messages where conversation_id = $1 and seq >= 2000000`, [
        conversation,
      ]);
    }
  } finally {
    for (const index of INDEXES)
      await c.query(`alter index ${index} reset (gin_pending_list_limit, fastupdate)`);
  }
}

async function main() {
  const { dataDir } = await scaleDataDir(1, console.log);
  const db = new EmbeddedDatabase({ dataDir, port: await freePort(), persistent: true });
  await db.start();
  const url = db.url(SCALE_DATABASES.big);
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    await inserts(c, url);
  } finally {
    await c.end();
    await db.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
