/**
 * scale: a year of data. Runs only when asked (`npm run bench -- --only scale [--scale 0.1]`).
 *
 * Starts an embedded PostgreSQL on the cached data directory of bench/scale/seed.ts (built
 * first if missing: ~10M messages at scale 1) holding `scale_big` and `scale_small` (the
 * same big owner and first 1,000 owners, little else), and one service on each (API keys
 * for a few owners). Rounds alternate big and small; every figure is big ÷ small of the
 * same operation on the same rows, medians over rounds:
 * - whole-reply turns, sequential, on 30 conversations of the big owner (the 500-message
 *   path among them): p50, p99, PostgreSQL time and statements per turn
 *   (pg_stat_statements); what the turns add is deleted afterwards;
 * - GET /conversations (first page), GET /conversations/:id, a messages page newest-first
 *   and oldest-first of the 10,000-message path, for the big owner and an ordinary one;
 * - search by the big owner (100,000 messages) for a common and a rare word: absolute;
 * - the json export of the 10,000-message conversation and the big owner's account export
 *   (GET /export): the live heap held while they run (after forced full GCs), and RSS growth;
 * - the retention sweep deleting 1M × scale expired messages (inserted for the purpose) while
 *   turns run, against the same turns without it;
 * - a nullable column and an index (CONCURRENTLY) added to messages while turns run;
 * - the same searches while turns write back to back (their entries pending in the GIN
 *   indexes until the service merges them): absolute;
 * - the WAL a streamed reply writes (over ~15 s, checkpointed every second) against the
 *   same reply streamed in under a second (written once, as a whole reply is), and whether
 *   checkpoints were HOT updates.
 */
import http from 'node:http';

import { Client, Pool } from 'pg';

import { EmbeddedDatabase } from '../../src/database/embedded-database';
import { streamTurn } from '../lib/load';
import { liveMemory } from '../lib/memory';
import { freePort, rssBytes } from '../lib/processes';
import { progress } from '../lib/progress';
import { ms, type Row } from '../lib/report';
import { defineScenario } from '../lib/scenario';
import type { Target } from '../lib/servers';
import { verdict } from '../lib/series';
import { median, percentile } from '../lib/stats';
import { stampMessage } from '../stamp-upstream';
import {
  BIG_OWNER_MESSAGES,
  bigOwner,
  COMMON_WORD,
  EPOCH,
  owner,
  RARE_WORD,
} from '../scale/dataset';
import { apiKeyOf, apiKeysEnv, request } from '../scale/http';
import { SCALE_DATABASES, scaleDataDir, type SeedInfo } from '../scale/seed';

interface ScaleConfig {
  /** Turns per database per round (and per retention/migration phase). */
  scaleTurns: number;
  /** Requests per read figure per database per round. */
  scaleReads: number;
  scaleSearches: number;
  /** Chunks of the streamed reply of the WAL figure, one every 100 ms. */
  scaleWalChunks: number;
}

type Which = 'big' | 'small';
const WHICH: Which[] = ['big', 'small'];
const BIG = bigOwner(0);
const ORDINARY = owner(7);
const DAY_MS = 86_400_000;
/** Expired conversations are this much older than the seeded year. */
const EXPIRED_AT = EPOCH - 800 * DAY_MS;

interface Fixture {
  /** The big owner's 10,000-message path and 500-message path. */
  longPath: string;
  mediumPath: string;
  /** Conversations the turns go to (the big owner's), with what to restore afterwards. */
  turnConversations: { id: string; nextSeq: number; leaf: string; lastMessageAt: Date }[];
}

export const scale = defineScenario<ScaleConfig>({
  name: 'scale',
  summary: 'a year of data: the same operations on ~10M messages and on a small database',
  optIn: true,
  config: {
    full: { scaleTurns: 60, scaleReads: 60, scaleSearches: 30, scaleWalChunks: 150 },
    smoke: { scaleTurns: 5, scaleReads: 5, scaleSearches: 3, scaleWalChunks: 20 },
  },
  settings: (config) => [
    `scale: ${config.scaleTurns} turns, ${config.scaleReads} reads, ${config.scaleSearches} searches per figure per database per round`,
  ],
  async run(bench, config) {
    const scaleFactor = bench.flags.scale;
    const { dataDir, info, built } = await scaleDataDir(scaleFactor, progress);
    progress(`scale ${scaleFactor}: ${built ? 'built' : 'cached'} ${dataDir}`);
    const db = new EmbeddedDatabase({ dataDir, port: await freePort(), persistent: true });
    await db.start();
    const admin = new Pool({ connectionString: db.url('postgres'), max: 2 });
    admin.on('error', () => undefined);
    const pools = {
      big: new Pool({ connectionString: db.url(SCALE_DATABASES.big), max: 4 }),
      small: new Pool({ connectionString: db.url(SCALE_DATABASES.small), max: 4 }),
    };
    for (const pool of Object.values(pools)) pool.on('error', () => undefined);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
    const rows: Row[] = seedRows(info);
    const fixturesFound: Partial<Record<Which, Fixture>> = {};
    const figures: Record<string, unknown> = { seed: info, scale: scaleFactor };
    try {
      await admin.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
      // Planning counts too (a statement the service has prepared on a connection is planned
      // again for its first executions, and whenever PostgreSQL keeps custom plans).
      await admin.query('ALTER SYSTEM SET pg_stat_statements.track_planning = on');
      await admin.query('SELECT pg_reload_conf()');
      const fixtures = { big: await fixture(pools.big), small: await fixture(pools.small) };
      Object.assign(fixturesFound, fixtures);

      // The WAL figure first, while nothing else writes to this cluster.
      const wal = await measureWal(bench, db, admin, config.scaleWalChunks);
      figures.wal = wal;
      rows.push(...wal.rows);

      const env = (which: Which, backfill = 'off') => ({
        DATABASE_URL: db.url(SCALE_DATABASES[which]),
        AUTH_MODE: 'api-key',
        API_KEYS: apiKeysEnv([BIG, ORDINARY]),
        OWNER_BACKFILL: backfill,
      });
      const backfill = await measureBackfill(bench, pools, (which) => env(which, 'on'));
      figures.backfill = backfill;
      rows.push(...backfillRows(backfill));
      const services = {
        // Inspectors on both alike: the exports' live heap is read after a forced full GC.
        big: await bench.servers.service('service-scale-big', bench.upstreams.fake, {
          env: env('big'),
          inspectPort: await freePort(),
        }),
        small: await bench.servers.service('service-scale-small', bench.upstreams.fake, {
          env: env('small'),
          inspectPort: await freePort(),
        }),
      };
      const url = (which: Which, path: string) => `${services[which].origin}/api/v1${path}`;
      const get = (which: Which, path: string, as = BIG) =>
        request(agent, 'GET', url(which, path), apiKeyOf(as));
      const turn = (which: Which, id: string) =>
        request(agent, 'POST', url(which, `/conversations/${id}/messages`), apiKeyOf(BIG), {
          message: 'bench turn',
        });

      // Warm both: the first requests pay for connections and plans.
      for (const which of WHICH) {
        for (let i = 0; i < 5; i++) await turn(which, fixtures[which].turnConversations[i].id);
        await get(which, '/conversations');
      }

      const reads = readRequests(fixtures);
      const samples: Record<string, Record<Which, number[][]>> = {};
      const keep = (figure: string, which: Which, round: number, values: number[]) => {
        samples[figure] ??= { big: [], small: [] };
        (samples[figure][which][round] ??= []).push(...values);
      };
      const pgPerTurn: Record<
        Which,
        { execMs: number; planMs: number; mergeMs: number; statements: number }[]
      > = {
        big: [],
        small: [],
      };
      for (let round = 0; round < config.rounds; round++) {
        progress(`scale: round ${round + 1}/${config.rounds}`);
        for (const which of round % 2 ? [...WHICH].reverse() : WHICH) {
          const before = await statementTotals(admin, SCALE_DATABASES[which]);
          const latencies: number[] = [];
          for (let i = 0; i < config.scaleTurns; i++) {
            const conversations = fixtures[which].turnConversations;
            const answer = await turn(which, conversations[i % conversations.length].id);
            if (answer.status !== 201 && answer.status !== 200)
              throw new Error(`turn answered ${answer.status}: ${answer.body}`);
            latencies.push(answer.ms);
          }
          const after = await statementTotals(admin, SCALE_DATABASES[which]);
          pgPerTurn[which].push({
            execMs: (after.execMs - before.execMs) / config.scaleTurns,
            mergeMs: (after.mergeMs - before.mergeMs) / config.scaleTurns,
            planMs: (after.planMs - before.planMs) / config.scaleTurns,
            statements: (after.calls - before.calls) / config.scaleTurns,
          });
          keep('turn', which, round, latencies);
          for (const read of reads) {
            const values: number[] = [];
            for (let i = 0; i < config.scaleReads; i++) {
              const answer = await get(which, read.path(fixtures[which]), read.as);
              if (answer.status !== 200)
                throw new Error(`${read.figure} answered ${answer.status}: ${answer.body}`);
              values.push(answer.ms);
            }
            keep(read.figure, which, round, values);
          }
          for (const word of [COMMON_WORD, RARE_WORD]) {
            const values: number[] = [];
            for (let i = 0; i < config.scaleSearches; i++) {
              const answer = await get(which, `/conversations?q=${word}&limit=20`);
              if (answer.status !== 200)
                throw new Error(`search answered ${answer.status}: ${answer.body}`);
              values.push(answer.ms);
            }
            keep(`search ${word}`, which, round, values);
          }
        }
      }
      const underWrites = await searchWhileTurnsWrite(
        (word) => get('big', `/conversations?q=${word}&limit=20`),
        () => turn('big', fixtures.big.turnConversations[0].id),
        config.scaleSearches,
      );
      figures.searchUnderWrites = underWrites;
      for (const which of WHICH) await restoreTurns(pools[which], fixtures[which]);

      const stat = (figure: string, which: Which, p: number) =>
        median(samples[figure][which].map((values) => percentile(values, p)));
      const ratioRow = (figure: string, label: string, p: number, target: number): Row => {
        const big = stat(figure, 'big', p);
        const small = stat(figure, 'small', p);
        return {
          figure: `${label} p${p}, big ÷ small`,
          service: ms(big),
          floor: ms(small),
          direct: '',
          ratio: `${(big / small).toFixed(2)}×`,
          target: `≤ ${target}×`,
          result: verdict(big / small <= target),
        };
      };
      rows.push(
        ratioRow('turn', 'whole-reply turn (c1)', 50, 1.1),
        ratioRow('turn', 'whole-reply turn (c1)', 99, 1.1),
      );
      const pg = (which: Which) => median(pgPerTurn[which].map((r) => r.execMs));
      const statements = (which: Which) => median(pgPerTurn[which].map((r) => r.statements));
      rows.push({
        figure: 'PostgreSQL time per turn, big ÷ small',
        service: `${pg('big').toFixed(3)} ms`,
        floor: `${pg('small').toFixed(3)} ms`,
        direct: '',
        ratio: `${(pg('big') / pg('small')).toFixed(2)}×`,
        target: '≤ 1.1×',
        result: verdict(pg('big') / pg('small') <= 1.1),
      });
      const plan = (which: Which) => median(pgPerTurn[which].map((r) => r.planMs));
      rows.push({
        figure: 'planning per turn, besides it (big / small)',
        service: `${plan('big').toFixed(3)} ms`,
        floor: `${plan('small').toFixed(3)} ms`,
        direct: '',
        ratio: `${(plan('big') / plan('small')).toFixed(2)}×`,
        target: 'report',
        result: 'report',
      });
      const merge = (which: Which) => median(pgPerTurn[which].map((r) => r.mergeMs));
      rows.push({
        figure: 'of it, merging the turns’ search index entries (big / small)',
        service: `${merge('big').toFixed(3)} ms`,
        floor: `${merge('small').toFixed(3)} ms`,
        direct: '',
        ratio: '',
        target: 'report',
        result: 'report',
      });
      rows.push({
        figure: 'statements per turn (big / small)',
        service: statements('big').toFixed(2),
        floor: statements('small').toFixed(2),
        direct: '',
        ratio: '',
        target: 'report',
        result: 'report',
      });
      for (const read of reads)
        rows.push(
          ratioRow(read.figure, read.figure, 50, 1.2),
          ratioRow(read.figure, read.figure, 99, 1.2),
        );
      for (const word of [COMMON_WORD, RARE_WORD]) {
        const figure = `search ${word}`;
        const label = `search by the ${BIG_OWNER_MESSAGES.toLocaleString('en')}-message owner, ${word === COMMON_WORD ? 'common' : 'rare'} word "${word}"`;
        for (const [p, limit] of [
          [50, 50],
          [99, 200],
        ] as const) {
          const big = stat(figure, 'big', p);
          rows.push({
            figure: `${label} p${p} (small db beside it)`,
            service: ms(big),
            floor: ms(stat(figure, 'small', p)),
            direct: '',
            ratio: '',
            target: `≤ ${limit} ms`,
            result: verdict(big <= limit),
          });
        }
      }
      for (const word of [COMMON_WORD, RARE_WORD])
        for (const [p, limit] of [
          [50, 50],
          [99, 200],
        ] as const) {
          const value = percentile(underWrites.searches[word], p);
          rows.push({
            figure: `search by the big owner, "${word}", p${p} while turns write (${underWrites.messagesPerSec.toFixed(0)} messages/s)`,
            service: ms(value),
            floor: '',
            direct: '',
            ratio: '',
            target: `≤ ${limit} ms`,
            result: verdict(value <= limit),
          });
        }
      figures.samples = Object.fromEntries(
        Object.keys(samples).map((figure) => [
          figure,
          Object.fromEntries(
            WHICH.map((w) => [w, { p50: stat(figure, w, 50), p99: stat(figure, w, 99) }]),
          ),
        ]),
      );
      figures.pgPerTurn = pgPerTurn;

      const exports = await measureExports(agent, services.big, pools.big, fixtures.big, (path) =>
        url('big', path),
      );
      figures.export = exports;
      rows.push(...exportRows(exports));

      const turnsBig = async (count: number) => {
        const latencies: number[] = [];
        const conversations = fixtures.big.turnConversations;
        for (let i = 0; i < count; i++)
          latencies.push((await turn('big', conversations[i % conversations.length].id)).ms);
        return latencies;
      };
      const retention = await measureRetention(
        bench,
        db,
        pools.big,
        scaleFactor,
        config.scaleTurns,
        turnsBig,
      );
      figures.retention = retention;
      rows.push({
        figure: `turn p99 while the retention sweep deletes ${retention.messages.toLocaleString('en')} expired messages ÷ without`,
        service: ms(retention.p99During),
        floor: ms(retention.p99Before),
        direct: '',
        ratio: `${(retention.p99During / retention.p99Before).toFixed(2)}×`,
        target: '≤ 1.5×',
        result: verdict(retention.p99During <= 1.5 * retention.p99Before),
      });
      rows.push({
        figure: 'retention sweep: messages deleted per second (while turns ran)',
        service: Math.round(retention.messages / retention.sweepSec).toLocaleString('en'),
        floor: '',
        direct: '',
        ratio: '',
        target: 'report',
        result: 'report',
      });
      await restoreTurns(pools.big, fixtures.big);

      const migration = await measureMigration(
        db.url(SCALE_DATABASES.big),
        config.scaleTurns,
        turnsBig,
      );
      figures.migration = migration;
      for (const step of migration.steps) {
        rows.push({
          figure: `on the big database: ${step.what}`,
          service: step.lockedMs
            ? `${ms(step.ms)} held (waited ${ms(step.waitedMs)})`
            : ms(step.ms),
          floor: '',
          direct: '',
          ratio: '',
          target: step.limitMs ? `≤ ${ms(step.limitMs)} locked` : 'report',
          result: step.limitMs ? verdict(step.lockedMs <= step.limitMs) : 'report',
        });
      }
      rows.push({
        figure: 'turn p99 while CREATE INDEX CONCURRENTLY runs ÷ without',
        service: ms(migration.p99During),
        floor: ms(migration.p99Before),
        direct: '',
        ratio: `${(migration.p99During / migration.p99Before).toFixed(2)}×`,
        target: 'report',
        result: 'report',
      });
      await restoreTurns(pools.big, fixtures.big);
      await bench.servers.stop(services.big);
      await bench.servers.stop(services.small);
    } finally {
      // What turns added goes, even after a failure, so the cache stays as seeded.
      for (const which of WHICH) {
        if (fixturesFound[which]) await restoreTurns(pools[which], fixturesFound[which]);
      }
      await Promise.all([admin.end(), pools.big.end(), pools.small.end()]);
      agent.destroy();
      await db.stop();
    }
    return { rows, figures };
  },
});

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const gb = (bytes: number): string => `${(bytes / 1024 ** 3).toFixed(2)} GB`;

/** The databases measured: what they hold, how long seeding took, their size on disk. */
function seedRows(info: SeedInfo): Row[] {
  const row = (figure: string, big: string, small: string): Row => ({
    figure,
    service: big,
    floor: small,
    direct: '',
    ratio: '',
    target: 'report',
    result: 'report',
  });
  const { big, small } = info.databases;
  const holds = (d: typeof big) =>
    `${d.owners.toLocaleString('en')} owners, ${d.conversations.toLocaleString('en')} conversations, ${d.messages.toLocaleString('en')} messages, ${d.marks.toLocaleString('en')} summaries`;
  const took = (d: typeof big) =>
    `COPY ${d.copySec} s, indexes ${d.indexSec} s, VACUUM ${d.vacuumSec} s`;
  const rows = [
    row('seeded database (big / small)', holds(big), holds(small)),
    row('seeding time (big / small)', took(big), took(small)),
    row(
      'size on disk: database (messages heap + TOAST, its indexes)',
      `${gb(big.bytes)} (${gb(big.tables.messages.heap)}, ${gb(big.tables.messages.indexes)})`,
      `${gb(small.bytes)} (${gb(small.tables.messages.heap)}, ${gb(small.tables.messages.indexes)})`,
    ),
  ];
  for (const upgrade of info.upgrades ?? []) {
    rows.push(
      row(
        `migrations applied to the seeded ${upgrade.database} (prisma migrate deploy)`,
        `${upgrade.sec.toFixed(1)} s`,
        upgrade.migrations.join(', '),
      ),
    );
  }
  return rows;
}

async function fixture(pool: Pool): Promise<Fixture> {
  const paths = await pool.query<{ id: string; next_seq: number }>(
    `SELECT id, next_seq FROM conversations WHERE owner_id = $1 ORDER BY next_seq DESC LIMIT 2`,
    [BIG],
  );
  const turns = await pool.query<{
    id: string;
    next_seq: number;
    current_leaf_id: string;
    last_message_at: Date;
  }>(
    `(SELECT id, next_seq, current_leaf_id, last_message_at FROM conversations WHERE id = $2)
     UNION ALL
     (SELECT id, next_seq, current_leaf_id, last_message_at FROM conversations
      WHERE owner_id = $1 AND next_seq BETWEEN 20 AND 300 AND NOT archived ORDER BY id LIMIT 29)`,
    [BIG, paths.rows[1].id],
  );
  return {
    longPath: paths.rows[0].id,
    mediumPath: paths.rows[1].id,
    turnConversations: turns.rows.map((r) => ({
      id: r.id,
      nextSeq: r.next_seq,
      leaf: r.current_leaf_id,
      lastMessageAt: r.last_message_at,
    })),
  };
}

/** Deletes what the turns added, so the cached database stays as it was seeded. */
async function restoreTurns(pool: Pool, fixture: Fixture): Promise<void> {
  for (const c of fixture.turnConversations) {
    await pool.query('DELETE FROM messages WHERE conversation_id = $1 AND seq >= $2', [
      c.id,
      c.nextSeq,
    ]);
    await pool.query(
      `UPDATE conversations SET next_seq = $2, current_leaf_id = $3, last_message_at = $4, updated_at = $4,
         active_turn_id = NULL, active_process_id = NULL
       WHERE id = $1`,
      [c.id, c.nextSeq, c.leaf, c.lastMessageAt],
    );
  }
}

function readRequests(fixtures: Record<Which, Fixture>) {
  void fixtures;
  return [
    {
      figure: 'conversation list, first page (big owner)',
      as: BIG,
      path: () => '/conversations?limit=20',
    },
    {
      figure: 'conversation list, first page (ordinary owner)',
      as: ORDINARY,
      path: () => '/conversations?limit=20',
    },
    {
      figure: 'GET conversation (10,000-message path)',
      as: BIG,
      path: (f: Fixture) => `/conversations/${f.longPath}`,
    },
    {
      figure: 'messages page newest-first (10,000-message path)',
      as: BIG,
      path: (f: Fixture) => `/conversations/${f.longPath}/messages?order=desc&limit=50`,
    },
    {
      figure: 'messages page oldest-first (10,000-message path)',
      as: BIG,
      path: (f: Fixture) => `/conversations/${f.longPath}/messages?order=asc&limit=50`,
    },
  ];
}

/**
 * A database's statements so far: execution time and calls, and the part of the time the
 * service's merges of the search indexes' pending entries took (SearchIndexMerger).
 */
async function statementTotals(
  admin: Pool,
  database: string,
): Promise<{ execMs: number; planMs: number; calls: number; mergeMs: number }> {
  const result = await admin.query<{
    exec_ms: number | null;
    plan_ms: number | null;
    calls: string | null;
    merge_ms: number | null;
  }>(
    `SELECT sum(s.total_exec_time) AS exec_ms, sum(s.total_plan_time) AS plan_ms,
       sum(s.calls)::text AS calls,
       sum(s.total_exec_time) FILTER (WHERE s.query LIKE '%gin_clean_pending_list%') AS merge_ms
     FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = $1`,
    [database],
  );
  const row = result.rows[0];
  return {
    execMs: row.exec_ms ?? 0,
    planMs: row.plan_ms ?? 0,
    calls: Number(row.calls ?? 0),
    mergeMs: row.merge_ms ?? 0,
  };
}

/** Peak RSS of the service while it sends one export, over its RSS just before. */
/** The live heap is read once FIRST_SAMPLE bytes have come, then after each SAMPLE_EVERY more. */
const FIRST_SAMPLE = 512 * 1024;
const SAMPLE_EVERY = 4 * 1024 * 1024;
const RSS_FLOOR = 4 * 1024 * 1024;

/**
 * One export: the service's RSS growth (peak over before), and what the export holds: the
 * live heap (after a forced full GC) while it runs, over the live heap before it. For each
 * reading the client stops reading, so the service stalls on backpressure and allocates
 * nothing meanwhile, then resumes.
 */
async function measureExport(agent: http.Agent, target: Target, url: string) {
  const pid = target.child.pid;
  const baseline = await liveMemory(target);
  const before = rssBytes(pid);
  let peak = before;
  const timer = setInterval(() => (peak = Math.max(peak, rssBytes(pid))), 5);
  const held: number[] = [];
  const started = performance.now();
  const { status, bytes } = await new Promise<{ status: number; bytes: number }>(
    (resolve, reject) => {
      const req = http.get(url, { agent, headers: { 'X-API-Key': apiKeyOf(BIG) } }, (res) => {
        let received = 0;
        let next = FIRST_SAMPLE;
        res.on('data', (part: Buffer) => {
          received += part.length;
          if (received < next) return;
          next = received + SAMPLE_EVERY;
          res.pause();
          void new Promise((settle) => setTimeout(settle, 100))
            .then(() => liveMemory(target))
            .then((live) => held.push(live.heap - baseline.heap))
            .finally(() => res.resume());
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes: received }));
        res.on('error', reject);
      });
      req.setTimeout(300_000, () => req.destroy(new Error(`GET ${url} timed out`)));
      req.on('error', reject);
    },
  );
  const ms = performance.now() - started;
  clearInterval(timer);
  peak = Math.max(peak, rssBytes(pid));
  if (status !== 200) throw new Error(`export answered ${status}`);
  return {
    bytes,
    ms,
    rssBefore: before,
    rssPeak: peak,
    rssGrowth: peak - before,
    liveBefore: baseline.heap,
    /** The most the export held at a reading (live heap over the baseline), and how many. */
    held: Math.max(0, ...held),
    readings: held.length,
  };
}

type ExportFigure = Awaited<ReturnType<typeof measureExport>>;
interface ExportFigures {
  medium: ExportFigure;
  long: ExportFigure;
  account: ExportFigure;
  conversations: number;
}

/**
 * Bounded by the page, not the data: what an export holds is read from the live heap. Its
 * RSS growth is reported beside it; that figure mostly measures V8 sizing its heap (the
 * young generation grows to two 16 MB semi-spaces as a long export's few survivors add up,
 * the old generation's headroom follows the live heap, and idle GCs give both back on
 * their own schedule), which moved tens of MB between runs whatever an export held.
 */
async function measureExports(
  agent: http.Agent,
  target: Target,
  pool: Pool,
  fixture: Fixture,
  url: (path: string) => string,
): Promise<ExportFigures> {
  const counted = await pool.query<{ n: string }>(
    'SELECT count(*) AS n FROM conversations WHERE owner_id = $1',
    [BIG],
  );
  const one = (id: string) => url(`/conversations/${id}/export?format=json`);
  await measureExport(agent, target, one(fixture.mediumPath)); // warm
  return {
    medium: await measureExport(agent, target, one(fixture.mediumPath)),
    long: await measureExport(agent, target, one(fixture.longPath)),
    account: await measureExport(agent, target, url('/export?format=json')),
    conversations: Number(counted.rows[0].n),
  };
}

function exportRows(figures: ExportFigures): Row[] {
  const { medium, long, account } = figures;
  const floor = Math.max(medium.held, RSS_FLOOR);
  const row = (figure: string, f: ExportFigure): Row => ({
    figure,
    service: `${mb(f.held)} held (RSS +${mb(f.rssGrowth)}) for ${mb(f.bytes)} in ${(f.ms / 1000).toFixed(1)} s`,
    floor: `${mb(medium.held)} held (RSS +${mb(medium.rssGrowth)}) for ${mb(medium.bytes)}`,
    direct: '',
    ratio: `${(f.held / floor).toFixed(2)}×`,
    target: '≤ 2× the 500-message one (or 4 MB)',
    result: verdict(f.readings > 0 && f.held <= 2 * floor),
  });
  return [
    row(
      'json export: live heap held while it runs, 10,000-message conversation (500-message one beside it)',
      long,
    ),
    row(
      `account json export (GET /export): live heap held while it runs, the 100,000-message owner's ${figures.conversations} conversations`,
      account,
    ),
  ];
}

interface BackfillFigure {
  which: Which;
  /** Seconds until the backfill had passed the big owner (0: an earlier run had). */
  sec: number;
  /** Messages filled meanwhile (the big owner's and any owner before it). */
  messages: number;
}

/**
 * The messages.owner_id backfill as a deploy runs it: a service with OWNER_BACKFILL on, on
 * each database, until the big owner's rows are filled (owners go in order, and `big0` sorts
 * first); the rest of the owners are left for later runs (the measuring services have it
 * off, so their figures are the service's own).
 */
async function measureBackfill(
  bench: Parameters<typeof scale.run>[0],
  pools: Record<Which, Pool>,
  env: (which: Which) => Record<string, string>,
): Promise<BackfillFigure[]> {
  const passed = async (which: Which) => {
    const result = await pools[which].query<{ passed: boolean }>(
      `SELECT done_at IS NOT NULL OR owner_position > $1 AS passed FROM backfills
       WHERE name = 'messages.owner_id'`,
      [BIG],
    );
    return result.rows[0]?.passed ?? false;
  };
  const figures: BackfillFigure[] = [];
  for (const which of WHICH) {
    if (await passed(which)) {
      figures.push({ which, sec: 0, messages: 0 });
      continue;
    }
    progress(`scale: owner_id backfill on ${which} until the big owner is filled`);
    const started = performance.now();
    const service = await bench.servers.service(
      `service-scale-backfill-${which}`,
      bench.upstreams.fake,
      {
        env: env(which),
      },
    );
    while (!(await passed(which))) {
      if (performance.now() - started > 60 * 60_000)
        throw new Error('the owner_id backfill did not pass the big owner in 60 min');
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const sec = (performance.now() - started) / 1000;
    await bench.servers.stop(service);
    const filled = await pools[which].query<{ n: string }>(
      `SELECT count(*)::text AS n FROM messages m JOIN conversations c ON c.id = m.conversation_id
       WHERE c.owner_id <= $1 AND m.owner_id IS NOT NULL`,
      [BIG],
    );
    figures.push({ which, sec, messages: Number(filled.rows[0].n) });
  }
  return figures;
}

function backfillRows(figures: BackfillFigure[]): Row[] {
  return figures.map((f) => ({
    figure: `owner_id backfill on the ${f.which} database, until the big owner was filled (OWNER_BACKFILL=on, nothing else running)`,
    service:
      f.sec === 0
        ? 'done by an earlier run'
        : `${f.messages.toLocaleString('en')} messages in ${f.sec.toFixed(0)} s (${Math.round(f.messages / f.sec).toLocaleString('en')}/s)`,
    floor: '',
    direct: '',
    ratio: '',
    target: 'report',
    result: 'report',
  }));
}

/**
 * Searches by the big owner while turns run back to back in another conversation of theirs:
 * each turn's messages enter the search indexes' pending lists, which every probe reads
 * until the service's merger (SEARCH_INDEX_MERGE_MS) empties them. The searches are spaced
 * so that writes accumulate between them, as they would with other users writing.
 */
async function searchWhileTurnsWrite(
  search: (word: string) => Promise<{ status: number; ms: number; body: string }>,
  turn: () => Promise<{ status: number }>,
  count: number,
) {
  let writing = true;
  let turns = 0;
  const started = performance.now();
  const writer = (async () => {
    while (writing) {
      const answer = await turn();
      if (answer.status !== 201 && answer.status !== 200)
        throw new Error(`turn answered ${answer.status}`);
      turns++;
    }
  })();
  const searches: Record<string, number[]> = { [COMMON_WORD]: [], [RARE_WORD]: [] };
  try {
    for (let i = 0; i < count; i++)
      for (const word of [COMMON_WORD, RARE_WORD]) {
        await sleepMs(100);
        const answer = await search(word);
        if (answer.status !== 200)
          throw new Error(`search answered ${answer.status}: ${answer.body}`);
        searches[word].push(answer.ms);
      }
  } finally {
    writing = false;
    await writer;
  }
  const seconds = (performance.now() - started) / 1000;
  return { searches, turns, messagesPerSec: (turns * 2) / seconds };
}

/**
 * Inserts expired conversations (100 messages each, last active 800 days before the seeded
 * year), measures turns without a sweep, then with a service whose RETENTION_DAYS reaches
 * them sweeping every second, until they are gone.
 */
async function measureRetention(
  bench: Parameters<typeof scale.run>[0],
  db: EmbeddedDatabase,
  pool: Pool,
  scaleFactor: number,
  turns: number,
  runTurns: (count: number) => Promise<number[]>,
) {
  const conversations = Math.round(10_000 * scaleFactor);
  const messages = conversations * 100;
  progress(`scale: inserting ${messages.toLocaleString('en')} expired messages`);
  const insertStart = performance.now();
  for (let done = 0; done < conversations; done += 1_000) {
    await pool.query(
      `WITH c AS (
         INSERT INTO conversations (id, owner_id, next_seq, created_at, updated_at, last_message_at)
         SELECT gen_random_uuid(), 'expired' || (g % 500), 100, $2::timestamptz, $2::timestamptz, $2::timestamptz
         FROM generate_series(1, $1::int) g RETURNING id
       )
       INSERT INTO messages (id, conversation_id, parent_id, seq, role, content, status, token_count, created_at)
       SELECT md5(c.id::text || s)::uuid, c.id, CASE WHEN s > 0 THEN md5(c.id::text || (s - 1))::uuid END, s,
              (CASE WHEN s % 2 = 0 THEN 'user' ELSE 'assistant' END)::"MessageRole",
              (SELECT string_agg(md5(s::text || w::text), ' ') FROM generate_series(1, 8) w),
              'complete', 80, $2::timestamptz + s * interval '1 minute'
       FROM c, generate_series(0, 99) s`,
      [Math.min(1_000, conversations - done), new Date(EXPIRED_AT)],
    );
  }
  const insertSec = (performance.now() - insertStart) / 1000;
  await pool.query('ANALYZE conversations');
  const before = await runTurns(turns);
  const days = Math.ceil((Date.now() - EPOCH) / DAY_MS) + 400;
  const sweeper = await bench.servers.service('service-scale-sweeper', bench.upstreams.fake, {
    env: {
      DATABASE_URL: db.url(SCALE_DATABASES.big),
      RETENTION_DAYS: String(days),
      RETENTION_SWEEP_MS: '1000',
      OWNER_BACKFILL: 'off',
    },
  });
  const sweepStart = performance.now();
  const during: number[] = [];
  let left = messages;
  while (left > 0) {
    during.push(...(await runTurns(10)));
    const count = await pool.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM conversations WHERE last_message_at < $1`,
      [new Date(EXPIRED_AT + DAY_MS)],
    );
    left = Number(count.rows[0].n) * 100;
    if (performance.now() - sweepStart > 30 * 60_000)
      throw new Error('the retention sweep did not finish in 30 min');
  }
  const sweepSec = (performance.now() - sweepStart) / 1000;
  await bench.servers.stop(sweeper);
  // The 1M dead row versions left as autovacuum would clear them (~20 s at scale 1), so the
  // cached database every later run measures is the settled one, not one bloated per run.
  progress('scale: vacuuming what the sweep deleted');
  await pool.query('VACUUM (ANALYZE) messages, conversations');
  return {
    messages,
    insertSec,
    sweepSec,
    turnsDuring: during.length,
    p99Before: percentile(before, 99),
    p99During: percentile(during, 99),
    p50Before: percentile(before, 50),
    p50During: percentile(during, 50),
  };
}

/**
 * What a migration that adds a column or an index does to the big messages table: each
 * statement timed, with the time it held a lock that blocks writes (a column: the whole
 * statement, under lock_timeout; CREATE INDEX CONCURRENTLY: only its brief waits), and
 * turns running meanwhile. Everything added is dropped again.
 */
async function measureMigration(
  url: string,
  turns: number,
  runTurns: (count: number) => Promise<number[]>,
) {
  const client = new Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  const steps: {
    what: string;
    ms: number;
    lockedMs: number;
    waitedMs: number;
    limitMs?: number;
  }[] = [];
  /** A statement that locks the table runs in a transaction that takes the lock first: the wait and the time held apart. */
  const timed = async (what: string, statement: string, locks: boolean, limitMs?: number) => {
    const started = performance.now();
    if (!locks) {
      await client.query(statement);
      steps.push({ what, ms: performance.now() - started, lockedMs: 0, waitedMs: 0, limitMs });
      return;
    }
    await client.query('BEGIN');
    await client.query('LOCK TABLE messages IN ACCESS EXCLUSIVE MODE');
    const locked = performance.now();
    await client.query(statement);
    await client.query('COMMIT');
    const held = performance.now() - locked;
    steps.push({ what, ms: held, lockedMs: held, waitedMs: locked - started, limitMs });
  };
  const before = await runTurns(turns);
  try {
    // Autovacuum holds a lock ALTER TABLE waits for, until deadlock_timeout (1 s) cancels it:
    // the wait is not the lock held, which is what the target is about.
    await client.query(`SET lock_timeout = '10s'`);
    await timed(
      'ADD COLUMN (nullable, no default) to messages',
      'ALTER TABLE messages ADD COLUMN scale_probe text',
      true,
      1000,
    );
    await timed(
      'ADD COLUMN … NOT NULL DEFAULT false to messages (a constant default: no rewrite)',
      'ALTER TABLE messages ADD COLUMN scale_probe_flag boolean NOT NULL DEFAULT false',
      true,
      1000,
    );
    await client.query(`SET lock_timeout = 0`);
    const index = timed(
      'CREATE INDEX CONCURRENTLY on messages (conversation_id, created_at)',
      'CREATE INDEX CONCURRENTLY scale_probe_idx ON messages (conversation_id, created_at)',
      false,
    );
    const during: number[] = [];
    let building = true;
    void index.finally(() => (building = false));
    while (building) during.push(...(await runTurns(5)));
    await index;
    return {
      steps,
      p99Before: percentile(before, 99),
      p99During: percentile(during, 99),
      turnsDuring: during.length,
    };
  } finally {
    await client.query('DROP INDEX CONCURRENTLY IF EXISTS scale_probe_idx');
    await client.query(
      'ALTER TABLE messages DROP COLUMN IF EXISTS scale_probe, DROP COLUMN IF EXISTS scale_probe_flag',
    );
    await client.end();
  }
}

/**
 * The WAL of one streamed reply: `chunks` chunks 100 ms apart (checkpointed every second)
 * against the same chunks sent at once (no checkpoint: the reply is written when it ends,
 * as a whole reply is). On the small database, with only this service running; the idle
 * WAL of the same span is subtracted. Also the updates to messages, and how many were HOT.
 */
async function measureWal(
  bench: Parameters<typeof scale.run>[0],
  db: EmbeddedDatabase,
  admin: Pool,
  chunks: number,
) {
  const url = db.url(SCALE_DATABASES.small);
  const service = await bench.servers.service('service-scale-wal', bench.upstreams.stamp, {
    env: { DATABASE_URL: url, CHECKPOINT_MS: '1000', OWNER_BACKFILL: 'off' },
  });
  const agent = new http.Agent({ keepAlive: true });
  const pool = new Pool({ connectionString: url, max: 1 });
  pool.on('error', () => undefined);
  try {
    // The WAL of this database's statements (pg_stat_statements), not the cluster's: the big
    // database's autovacuum writes WAL too, at any time.
    const lsn = async () =>
      BigInt(
        (
          await admin.query<{ wal: string }>(
            `SELECT coalesce(sum(s.wal_bytes), 0)::text AS wal
             FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = $1`,
            [SCALE_DATABASES.small],
          )
        ).rows[0].wal,
      );
    const tableStats = async () => {
      const result = await pool.query<{ relname: string; upd: string; hot: string; ins: string }>(
        `SELECT relname, n_tup_upd::text AS upd, n_tup_hot_upd::text AS hot, n_tup_ins::text AS ins
         FROM pg_stat_user_tables WHERE relname IN ('messages', 'turn_checkpoints')`,
      );
      return Object.fromEntries(
        result.rows.map((r) => [
          r.relname,
          { upd: Number(r.upd), hot: Number(r.hot), ins: Number(r.ins) },
        ]),
      );
    };
    const created = await request(agent, 'POST', `${service.origin}/api/v1/conversations`, '', {});
    const conversationId = (JSON.parse(created.body) as { id: string }).id;
    const reply = async (delayMs: number) => {
      await sleepMs(1500);
      const start = await lsn();
      const stats = await tableStats();
      const started = performance.now();
      const stream = await streamTurn(
        `${service.origin}/api/v1/conversations/${conversationId}/messages/stream`,
        { message: stampMessage({ chunks, delayMs }) },
        { agent, protocol: 'service' },
      );
      if (!stream.completed) throw new Error('the WAL stream did not complete');
      // Statistics reach pg_stat_user_tables within a second of the transaction.
      await sleepMs(1500);
      const wal = Number((await lsn()) - start);
      const spanMs = performance.now() - started;
      const after = await tableStats();
      const size = await pool.query<{ bytes: number }>(
        `SELECT octet_length(content) AS bytes FROM messages WHERE conversation_id = $1 ORDER BY seq DESC LIMIT 1`,
        [conversationId],
      );
      const diff = (table: string, key: 'upd' | 'hot' | 'ins') =>
        (after[table]?.[key] ?? 0) - (stats[table]?.[key] ?? 0);
      return {
        wal,
        spanMs,
        replyBytes: size.rows[0].bytes,
        messagesUpdates: diff('messages', 'upd'),
        messagesHot: diff('messages', 'hot'),
        checkpointInserts: diff('turn_checkpoints', 'ins'),
      };
    };
    const idle = async (spanMs: number) => {
      const start = await lsn();
      await sleepMs(spanMs);
      return Number((await lsn()) - start);
    };
    // Full-page images are written for the first change of a page after each PostgreSQL
    // checkpoint, whatever changed it: none may fall inside the measured replies, so a
    // checkpoint now, the pages warmed by a streamed reply, and no timed one for 30 min.
    await admin.query(`ALTER SYSTEM SET checkpoint_timeout = '30min'`);
    await admin.query('SELECT pg_reload_conf()');
    await admin.query('CHECKPOINT');
    const fpi = async () =>
      Number(
        (await admin.query<{ n: string }>('SELECT wal_fpi::text AS n FROM pg_stat_wal')).rows[0].n,
      );
    await reply(100);
    const fpiAfterWarm = await fpi();
    const whole = await reply(0);
    const streamed = await reply(100);
    const idleWal = await idle(streamed.spanMs);
    const fullPageImages = (await fpi()) - fpiAfterWarm;
    await admin.query('ALTER SYSTEM RESET checkpoint_timeout');
    await admin.query('SELECT pg_reload_conf()');
    const wholeNet = whole.wal - Math.round((idleWal * whole.spanMs) / streamed.spanMs);
    const streamedNet = streamed.wal - idleWal;
    const limit = wholeNet + 2 * streamed.replyBytes;
    const rows: Row[] = [
      {
        figure: `WAL of a ${(streamed.replyBytes / 1024).toFixed(1)} KB reply streamed over ${(streamed.spanMs / 1000).toFixed(0)} s (checkpoint 1/s) vs sent at once`,
        service: `${(streamedNet / 1024).toFixed(1)} KB`,
        floor: `${(wholeNet / 1024).toFixed(1)} KB`,
        direct: '',
        ratio: `${(streamedNet / streamed.replyBytes).toFixed(1)}× its size`,
        target: `≤ at once + 2× size (${(limit / 1024).toFixed(1)} KB)`,
        result: verdict(streamedNet <= limit),
      },
      {
        figure: 'full-page images written while the two replies and the idle span were measured',
        service: String(fullPageImages),
        floor: '',
        direct: '',
        ratio: '',
        target: "report (0: the WAL above is the replies' own)",
        result: 'report',
      },
      {
        figure: "updates of the streamed reply's message row while it ran (HOT of them)",
        service: `${streamed.messagesUpdates} (${streamed.messagesHot} HOT)`,
        floor: `${whole.messagesUpdates} (${whole.messagesHot} HOT)`,
        direct: '',
        ratio: '',
        target: 'no index churn',
        result: verdict(
          streamed.messagesUpdates - streamed.messagesHot <=
            whole.messagesUpdates - whole.messagesHot,
        ),
      },
    ];
    return { whole, streamed, idleWal, wholeNet, streamedNet, fullPageImages, rows };
  } finally {
    agent.destroy();
    await pool.end();
    await bench.servers.stop(service);
  }
}

const sleepMs = (msToWait: number) => new Promise((resolve) => setTimeout(resolve, msToWait));
