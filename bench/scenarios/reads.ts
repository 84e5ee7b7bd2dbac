/**
 * The read path on the A servers: `GET /conversations?limit=20`, `GET /conversations/:id`
 * (each request the next of the seeded conversations) and `GET …/messages?limit=50` (the
 * first page of the long conversation), each under autocannon at a fixed concurrency,
 * against the floor's raw-pg equivalents (floor-reads.ts). Both databases get the same
 * seeded rows (ids, texts, timestamps), newer than anything earlier scenarios wrote, so
 * both servers read the same rows; before measuring, every answer (and the page its
 * nextCursor leads to) is compared, and a difference is reported. `GET /health` is measured
 * the same way: the HTTP pipeline alone (middleware, guards, interceptors, serialisation)
 * against the floor's bare node:http answer, reported without a target.
 *
 * Reports per read p50 (target ≤ 1.3× the floor's) and p99 latency, and the server's CPU
 * per read (target ≤ 1.5× the floor's); errors (target 0); whether the answers match.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';

import type { Pool } from 'pg';

import { runLoad } from '../lib/load';
import { cpuMs } from '../lib/processes';
import { progress } from '../lib/progress';
import { ms, Row, sameAnswersRow, times } from '../lib/report';
import { Bench, defineScenario } from '../lib/scenario';
import {
  medianCpu,
  medianOf,
  newSeries,
  RoundStat,
  Series,
  Server,
  SERVERS,
  totalErrors,
  verdict,
} from '../lib/series';
import { rotate, summarize } from '../lib/stats';

interface ReadsConfig {
  /** Seconds of load per read, per server, per round. */
  readsSec: number;
  readsConnections: number;
  /** Conversations seeded; the first has `readsLongMessages` messages, the others 2. */
  readsConversations: number;
  readsLongMessages: number;
}

const CONVERSATIONS = '/api/v1/conversations';

type StatusCodes = Record<Server, Record<string, number>>;

type ReadKey = 'health' | 'list' | 'one' | 'messages';
/** `health` is no read: it is the HTTP pipeline alone, against a bare node:http answer. */
const READ_KEYS: readonly ReadKey[] = ['health', 'list', 'one', 'messages'];
const COMPARED_KEYS: readonly ReadKey[] = ['list', 'one', 'messages'];
const FIGURES: Record<ReadKey, string> = {
  health: 'GET /health (HTTP pipeline alone)',
  list: 'GET /conversations?limit=20',
  one: 'GET /conversations/:id',
  messages: 'GET …/messages?limit=50',
};
/** Targets of p50 and CPU per read as ratios to the floor; none for the pipeline alone. */
const LIMITS: Record<ReadKey, { p50?: number; cpu?: number }> = {
  health: {},
  list: { p50: 1.3, cpu: 1.5 },
  one: { p50: 1.3, cpu: 1.5 },
  messages: { p50: 1.3, cpu: 1.5 },
};

/** The path of each read; `one` reads the next seeded conversation each request. */
const pathsOf = (longId: string): Record<ReadKey, (id: string) => string> => ({
  health: () => '/health',
  list: () => `${CONVERSATIONS}?limit=20`,
  one: (id) => `${CONVERSATIONS}/${id}`,
  messages: () => `${CONVERSATIONS}/${longId}/messages?limit=50`,
});

export const reads = defineScenario<ReadsConfig>({
  name: 'reads',
  summary: 'GET /conversations, /conversations/:id and …/messages against raw-pg reads',
  config: {
    full: { readsSec: 2, readsConnections: 1, readsConversations: 200, readsLongMessages: 500 },
    smoke: {
      readsSec: 0.3,
      readsConnections: 1,
      readsConversations: 200,
      readsLongMessages: 500,
    },
  },
  settings: (config) => [
    `reads: autocannon GET, concurrency ${config.readsConnections}, ${config.readsSec} s per read per server per round; ${config.readsConversations} seeded conversations of owner local, one with ${config.readsLongMessages} messages`,
  ],
  async run(bench, config) {
    const ids = await seed(bench, config);
    const paths = pathsOf(ids[0]);
    const mismatch = await compareAnswers(bench, paths, ids);
    const series = Object.fromEntries(READ_KEYS.map((key) => [key, newSeries()])) as Record<
      ReadKey,
      Series
    >;
    const statusCodes: StatusCodes = { service: {}, floor: {} };
    // Not recorded: the first requests of each read compile its queries and warm the JIT.
    const warmUp = { ...config, readsSec: config.warmupSec };
    for (const key of READ_KEYS) {
      for (const system of SERVERS) await loadRun(bench, system, paths[key], ids, warmUp, {});
    }
    for (let round = 0; round < config.rounds; round++) {
      for (const key of READ_KEYS) {
        for (const system of rotate(SERVERS, round)) {
          const codes = statusCodes[system];
          series[key][system].push(await loadRun(bench, system, paths[key], ids, config, codes));
        }
      }
      progress(`reads round ${round + 1}/${config.rounds} done`);
    }
    return { rows: readRows(series, mismatch), figures: { series, statusCodes, mismatch } };
  },
});

/** The same rows in both databases; returns the seeded ids, the long conversation first. */
async function seed(bench: Bench, config: ReadsConfig): Promise<string[]> {
  const base = await newerThanAll(bench);
  let ids: string[] = [];
  for (const system of SERVERS) {
    const pool = bench.a[system].pool;
    ids = await seedReads(pool, base, config.readsConversations, config.readsLongMessages);
    await pool.query('VACUUM ANALYZE conversations');
    await pool.query('VACUUM ANALYZE messages');
  }
  return ids;
}

/** A second past the latest activity in either database (earlier scenarios may have just run). */
async function newerThanAll(bench: Bench): Promise<Date> {
  let latest = Date.now();
  for (const system of SERVERS) {
    const { rows } = await bench.a[system].pool.query<{ latest: Date | null }>(
      'SELECT max(last_message_at) AS latest FROM conversations',
    );
    latest = Math.max(latest, rows[0].latest?.getTime() ?? 0);
  }
  return new Date(latest + 1000);
}

/** SQL for a UUID derived from `seed`, with the RFC 4122 bits the service's validation wants. */
const uuidOf = (seed: string): string =>
  `overlay(overlay(md5(${seed}) placing '4' from 13) placing '8' from 17)::uuid`;

/**
 * `count` conversations of owner `local` (the service's owner under AUTH_MODE=none), the
 * newest at `base`, one a millisecond older each; the first with `longMessages` messages, the
 * others 2, each one linear path ending at its current leaf. Every field a response shows is filled somewhere (params partly null, a
 * failed reply with its error, reasoning, estimated usage), deterministically, so the
 * floor's database gets exactly the service's rows.
 */
async function seedReads(
  pool: Pool,
  base: Date,
  count: number,
  longMessages: number,
): Promise<string[]> {
  const result = await pool.query<{ id: string }>(
    `WITH c AS (
       INSERT INTO conversations (id, owner_id, title, system_prompt, model, temperature, top_p,
         max_tokens, seed, next_seq, created_at, updated_at, last_message_at, current_leaf_id)
       SELECT ${uuidOf("'bench-reads/' || i")}, 'local', 'Reads conversation ' || i,
              'You are a concise assistant. Conversation ' || i || ' of the read benchmark.',
              'lmstudio/default', 0.7, CASE WHEN i % 2 = 0 THEN 0.9 END, 512,
              CASE WHEN i % 3 = 0 THEN i END, CASE WHEN i = 0 THEN $3::int ELSE 2 END,
              $1::timestamptz - interval '1 day' - i * interval '1 millisecond',
              $1::timestamptz - i * interval '1 millisecond',
              $1::timestamptz - i * interval '1 millisecond',
              ${uuidOf(`(${uuidOf("'bench-reads/' || i")})::text || '/' || (CASE WHEN i = 0 THEN $3::int ELSE 2 END - 1)`)}
       FROM generate_series(0, $2::int - 1) i
       RETURNING id, next_seq, created_at
     ), m AS (
       INSERT INTO messages (id, conversation_id, parent_id, seq, role, content, reasoning, status,
         token_count, model, upstream_model, prompt_tokens, completion_tokens, usage_estimated,
         latency_ms, ttft_ms, finish_reason, error_code, error_message, created_at, completed_at)
       SELECT ${uuidOf("c.id::text || '/' || s")}, c.id,
              CASE WHEN s > 0 THEN ${uuidOf("c.id::text || '/' || (s - 1)")} END, s,
              (CASE WHEN a THEN 'assistant' ELSE 'user' END)::"MessageRole",
              (SELECT string_agg(md5(c.id::text || s || '/' || w), ' ')
               FROM generate_series(1, CASE WHEN a THEN 24 ELSE 6 END) w),
              CASE WHEN a AND s % 10 = 1 THEN 'Weighing the question ' || s END,
              (CASE WHEN a AND s % 50 = 7 THEN 'failed' ELSE 'complete' END)::"MessageStatus",
              CASE WHEN a THEN 200 ELSE 50 END,
              CASE WHEN a THEN 'lmstudio/default' END, CASE WHEN a THEN 'fake-model' END,
              CASE WHEN a THEN 300 + s END, CASE WHEN a THEN 200 END, a AND s % 20 = 3,
              CASE WHEN a THEN 900 + s END, CASE WHEN a THEN 120 END,
              CASE WHEN a AND s % 50 <> 7 THEN 'stop' END,
              CASE WHEN a AND s % 50 = 7 THEN 'provider_timeout' END,
              CASE WHEN a AND s % 50 = 7 THEN 'The provider did not answer in time' END,
              c.created_at + s * interval '1 second',
              CASE WHEN a THEN c.created_at + (s + 1) * interval '1 second' END
       FROM c, generate_series(0, c.next_seq - 1) s, LATERAL (SELECT s % 2 = 1 AS a) kind
     )
     SELECT id FROM c ORDER BY next_seq DESC, created_at DESC`,
    [base, count, longMessages],
  );
  return result.rows.map((row) => row.id);
}

interface Answer {
  status: number;
  body: { nextCursor?: unknown };
}

/**
 * Every measured answer (and the page its nextCursor leads to) from both servers; the
 * first difference, or null when the floor answers exactly what the service does.
 */
async function compareAnswers(
  bench: Bench,
  paths: Record<ReadKey, (id: string) => string>,
  ids: readonly string[],
): Promise<string | null> {
  const checked = [...COMPARED_KEYS.map((key) => paths[key](ids[1])), paths.one(ids[0])];
  for (const path of checked) {
    const [service, floor] = await Promise.all(
      SERVERS.map((s) => getJson(bench.a[s].origin, path)),
    );
    const cursor = service.body.nextCursor;
    const next =
      typeof cursor === 'string'
        ? `${path}${path.includes('?') ? '&' : '?'}cursor=${encodeURIComponent(cursor)}`
        : null;
    const pages = next
      ? await Promise.all(SERVERS.map((s) => getJson(bench.a[s].origin, next)))
      : [null, null];
    const difference =
      firstDifference(service, floor, path) ?? firstDifference(pages[0], pages[1], next ?? '');
    if (difference) return difference;
  }
  return null;
}

async function getJson(origin: string, path: string): Promise<Answer> {
  const res = await fetch(`${origin}${path}`, { signal: AbortSignal.timeout(30_000) });
  return { status: res.status, body: (await res.json()) as Answer['body'] };
}

/** Where `a` and `b` first differ, as a path into them, or null when they are equal. */
function firstDifference(a: unknown, b: unknown, at: string): string | null {
  if (isDeepStrictEqual(a, b)) return null;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) {
    return `${at}: service ${JSON.stringify(a)?.slice(0, 80)}, floor ${JSON.stringify(b)?.slice(0, 80)}`;
  }
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const key of keys) {
    const difference = firstDifference(
      (a as Record<string, unknown>)[key],
      (b as Record<string, unknown>)[key],
      `${at}.${key}`,
    );
    if (difference) return difference;
  }
  return `${at}: fields in another order`;
}

/** One load run of a read against one server: latency, errors, CPU per read. */
async function loadRun(
  bench: Bench,
  system: Server,
  path: (id: string) => string,
  ids: string[],
  config: ReadsConfig,
  statusCodes: Record<string, number>,
): Promise<RoundStat> {
  const target = bench.a[system];
  const cpuBefore = cpuMs(target.child.pid);
  const result = await runLoad({
    origin: target.origin,
    connections: config.readsConnections,
    durationSec: config.readsSec,
    method: 'GET',
    path,
    conversations: ids,
  });
  // Let a request cut off by the end of the run finish before reading the CPU clock.
  await sleep(50);
  const cpuMsPerTurn = (cpuMs(target.child.pid) - cpuBefore) / result.latencies.length;
  target.served += result.latencies.length;
  for (const [code, count] of Object.entries(result.statusCodes)) {
    statusCodes[code] = (statusCodes[code] ?? 0) + count;
  }
  return {
    ...summarize(result.latencies),
    errors: result.errors,
    rate: result.okInWindow / result.durationSec,
    cpuMsPerTurn,
  };
}

function readRows(series: Record<ReadKey, Series>, mismatch: string | null): Row[] {
  const errors = (system: Server): number =>
    READ_KEYS.reduce((sum, key) => sum + totalErrors(series[key][system]), 0);
  return [
    ...READ_KEYS.flatMap((key) => figureRows(FIGURES[key], series[key], LIMITS[key])),
    {
      figure: 'errors in all read runs (non-2xx, socket)',
      service: String(errors('service')),
      floor: String(errors('floor')),
      direct: '',
      ratio: '',
      target: '0',
      result: verdict(errors('service') === 0 && errors('floor') === 0),
    },
    sameAnswersRow("read answers: the floor's equal the service's", mismatch),
  ];
}

/** p50 and p99 latency and CPU per read of one read, each with its ratio to the floor. */
function figureRows(read: string, s: Series, limits: { p50?: number; cpu?: number }): Row[] {
  const value = (system: Server): Record<'p50' | 'p99' | 'cpu', number> => ({
    p50: medianOf(s[system], 'p50'),
    p99: medianOf(s[system], 'p99'),
    cpu: medianCpu(s, system),
  });
  const service = value('service');
  const floor = value('floor');
  const row = (figure: string, key: 'p50' | 'p99' | 'cpu', limit?: number): Row => {
    const ratio = service[key] / floor[key];
    return {
      figure: `${read} ${figure}`,
      service: ms(service[key]),
      floor: ms(floor[key]),
      direct: '',
      ratio: times(ratio),
      target: limit ? `≤ ${limit}× floor` : 'report',
      result: limit ? verdict(ratio <= limit) : 'report',
    };
  };
  return [
    row('p50', 'p50', limits.p50),
    row('p99', 'p99'),
    row('server CPU per read', 'cpu', limits.cpu),
  ];
}
