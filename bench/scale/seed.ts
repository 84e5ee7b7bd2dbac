/**
 * The scale scenario's databases, built once and cached: an embedded PostgreSQL data
 * directory under bench/.cache/scale/, named by a key of the migrations (names and SQL), the
 * generator's version and the scale, holding two migrated databases filled by COPY from
 * dataset.ts: `scale_big` (100,000 owners × scale, ~10M messages × scale, big owners with
 * 100,000 messages) and `scale_small` (1,000 owners and one big owner: the same rows for
 * them). Loading skips WAL (wal_level=minimal, TRUNCATE and COPY in one transaction, fsync
 * off while building), drops the tables' indexes and constraints first and builds them
 * after, then VACUUM (FREEZE, ANALYZE), so the bench finds a settled year of data, not a
 * fresh bulk load. Normal durability is restored before the directory is used.
 *
 *   npx tsx bench/scale/seed.ts [--scale 0.1]     builds (or reports) the cached directory
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import type { Writable } from 'node:stream';

import { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

import { EmbeddedDatabase } from '../../src/database/embedded-database';
import { applyMigrations } from '../../src/database/migrations';
import { freePort } from '../lib/processes';
import {
  type ConversationRow,
  type DatasetShape,
  generate,
  GENERATOR_VERSION,
  type MarkRow,
  type MessageRow,
  shapes,
} from './dataset';

const ROOT = path.resolve(__dirname, '..', '..');
const CACHE = path.join(ROOT, 'bench', '.cache', 'scale');
const MIGRATIONS = path.join(ROOT, 'prisma', 'migrations');
export const SCALE_DATABASES = { big: 'scale_big', small: 'scale_small' } as const;
const TABLES = ['conversations', 'messages', 'memory_marks'];

/** Settings while loading (nothing to protect yet) and for the bench (defaults, durable). */
const LOAD_SETTINGS: Record<string, string> = {
  fsync: 'off',
  synchronous_commit: 'off',
  full_page_writes: 'off',
  wal_level: 'minimal',
  max_wal_senders: '0',
  max_wal_size: '20GB',
  maintenance_work_mem: '1GB',
  max_parallel_maintenance_workers: '2',
  autovacuum: 'off',
};
const BENCH_SETTINGS: Record<string, string> = {
  shared_preload_libraries: 'pg_stat_statements',
  max_connections: '300',
  'pg_stat_statements.track_utility': 'on',
};

export interface DatabaseFigures {
  owners: number;
  conversations: number;
  messages: number;
  marks: number;
  /** COPY, index builds, VACUUM: seconds each. */
  copySec: number;
  indexSec: number;
  vacuumSec: number;
  /** pg_database_size after VACUUM, bytes; and per table (heap + TOAST + indexes). */
  bytes: number;
  tables: Record<string, { heap: number; indexes: number }>;
  indexes: Record<string, number>;
}

export interface SeedInfo {
  key: string;
  scale: number;
  generatorVersion: number;
  builtAt: string;
  totalSec: number;
  databases: Record<keyof typeof SCALE_DATABASES, DatabaseFigures>;
  /** Migrations applied to the cached databases after they were built, timed. */
  upgrades?: Upgrade[];
}

export interface Upgrade {
  database: string;
  migrations: string[];
  /** Wall time of `prisma migrate deploy` (its start-up included, ~2 s). */
  sec: number;
  at: string;
}

/** The cache key: the migrations (names and contents), the generator's version, the scale. */
export function cacheKey(scale: number): string {
  const hash = createHash('sha256');
  for (const name of readdirSync(MIGRATIONS).sort()) {
    const file = path.join(MIGRATIONS, name, 'migration.sql');
    if (!existsSync(file)) continue;
    hash.update(name).update(readFileSync(file));
  }
  hash.update(`generator ${GENERATOR_VERSION} scale ${scale}`);
  return `s${scale}-${hash.digest('hex').slice(0, 12)}`;
}

/** The cached data directory for `scale`, built first if it is not there. */
export async function scaleDataDir(
  scale: number,
  log: (line: string) => void,
): Promise<{ dataDir: string; info: SeedInfo; built: boolean }> {
  const key = cacheKey(scale);
  const dataDir = path.join(CACHE, key);
  const infoFile = path.join(CACHE, `${key}.json`);
  if (existsSync(infoFile) && existsSync(dataDir)) {
    return { dataDir, info: JSON.parse(readFileSync(infoFile, 'utf8')) as SeedInfo, built: false };
  }
  const older = olderCache(scale);
  if (older) {
    const info = await upgrade(older, key, dataDir, log);
    writeFileSync(infoFile, `${JSON.stringify(info, null, 2)}\n`);
    return { dataDir, info, built: false };
  }
  const info = await build(scale, key, dataDir, log);
  writeFileSync(infoFile, `${JSON.stringify(info, null, 2)}\n`);
  return { dataDir, info, built: true };
}

/** The newest cache of the same scale and generator built with other migrations, if any. */
function olderCache(scale: number): SeedInfo | undefined {
  if (!existsSync(CACHE)) return undefined;
  return readdirSync(CACHE)
    .filter((name) => name.endsWith('.json'))
    .map((name) => JSON.parse(readFileSync(path.join(CACHE, name), 'utf8')) as SeedInfo)
    .filter(
      (info) =>
        info.scale === scale &&
        info.generatorVersion === GENERATOR_VERSION &&
        existsSync(path.join(CACHE, info.key)),
    )
    .sort((a, b) => b.builtAt.localeCompare(a.builtAt))[0];
}

/**
 * Applies the migrations an older cache lacks to both its databases, as a deploy would
 * (`prisma migrate deploy`), timing each database: the migrations measured on the big
 * database. Then files the directory under the new key.
 */
async function upgrade(
  older: SeedInfo,
  key: string,
  dataDir: string,
  log: (line: string) => void,
): Promise<SeedInfo> {
  const from = path.join(CACHE, older.key);
  log(`applying new migrations to the cached ${older.key}`);
  const server = new EmbeddedDatabase({ dataDir: from, port: await freePort(), persistent: true });
  await server.start();
  const upgrades: Upgrade[] = [];
  try {
    for (const which of ['small', 'big'] as const) {
      const url = server.url(SCALE_DATABASES[which]);
      const applied = async () =>
        withClient(url, async (client) =>
          (
            await client.query<{ name: string }>(
              'SELECT migration_name AS name FROM _prisma_migrations WHERE finished_at IS NOT NULL',
            )
          ).rows.map((r) => r.name),
        );
      const before = new Set(await applied());
      const started = performance.now();
      // As an operator would for a deploy that builds indexes on big tables.
      await applyMigrations(`${url}?options=${encodeURIComponent('-c maintenance_work_mem=1GB')}`);
      const sec = (performance.now() - started) / 1000;
      const migrations = (await applied()).filter((name) => !before.has(name)).sort();
      log(`  ${SCALE_DATABASES[which]}: ${migrations.join(', ')} in ${sec.toFixed(1)} s`);
      upgrades.push({
        database: SCALE_DATABASES[which],
        migrations,
        sec,
        at: new Date().toISOString(),
      });
    }
  } finally {
    await server.stop();
  }
  rmSync(`${from}.owner`, { force: true });
  renameSync(from, dataDir);
  rmSync(path.join(CACHE, `${older.key}.json`), { force: true });
  return { ...older, key, upgrades: [...(older.upgrades ?? []), ...upgrades] };
}

async function build(
  scale: number,
  key: string,
  dataDir: string,
  log: (line: string) => void,
): Promise<SeedInfo> {
  const started = performance.now();
  const partial = `${dataDir}.partial`;
  rmSync(partial, { recursive: true, force: true });
  rmSync(`${partial}.owner`, { force: true });
  mkdirSync(CACHE, { recursive: true });
  const server = new EmbeddedDatabase({
    dataDir: partial,
    port: await freePort(),
    persistent: true,
  });
  await server.start();
  const databases = {} as SeedInfo['databases'];
  try {
    await alterSystem(server.url(), { ...BENCH_SETTINGS, ...LOAD_SETTINGS });
    await server.stop();
    await server.start();
    const shape = shapes(scale);
    for (const which of ['small', 'big'] as const) {
      const name = SCALE_DATABASES[which];
      log(`seeding ${name}: ${JSON.stringify(shape[which])}`);
      await server.createDatabase(name);
      await applyMigrations(server.url(name));
      databases[which] = await load(server.url(name), shape[which], log);
      log(`${name}: ${JSON.stringify(databases[which])}`);
    }
    await withClient(server.url(), async (client) => {
      for (const name of Object.keys(LOAD_SETTINGS))
        await client.query(`ALTER SYSTEM RESET ${name}`);
      await client.query('CHECKPOINT');
    });
  } finally {
    await server.stop();
  }
  rmSync(`${partial}.owner`, { force: true });
  renameSync(partial, dataDir);
  return {
    key,
    scale,
    generatorVersion: GENERATOR_VERSION,
    builtAt: new Date().toISOString(),
    totalSec: Math.round((performance.now() - started) / 1000),
    databases,
  };
}

async function alterSystem(url: string, settings: Record<string, string>): Promise<void> {
  await withClient(url, async (client) => {
    for (const [name, value] of Object.entries(settings)) {
      await client.query(`ALTER SYSTEM SET ${name} = '${value}'`);
    }
  });
}

export async function withClient<T>(url: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

interface Definitions {
  constraints: { name: string; table: string; def: string; type: string }[];
  indexes: { name: string; def: string }[];
}

/** The tables' indexes and constraints as the migrations made them, to build after COPY. */
async function definitions(client: Client): Promise<Definitions> {
  const constraints = await client.query<{
    name: string;
    table: string;
    def: string;
    type: string;
  }>(
    `SELECT conname AS name, conrelid::regclass::text AS table, pg_get_constraintdef(oid) AS def,
            contype::text AS type
     FROM pg_constraint
     WHERE contype IN ('p', 'u', 'f')
       AND (conrelid = ANY($1::regclass[]) OR confrelid = ANY($1::regclass[]))`,
    [TABLES],
  );
  const indexes = await client.query<{ name: string; def: string }>(
    `SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS def
     FROM pg_index i
     WHERE i.indrelid = ANY($1::regclass[])
       AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.contype IN ('p', 'u'))`,
    [TABLES],
  );
  return { constraints: constraints.rows, indexes: indexes.rows };
}

const MESSAGE_COLUMNS =
  'id, conversation_id, parent_id, seq, role, content, status, token_count, model, upstream_model, ' +
  'latency_ms, finish_reason, error_code, created_at, completed_at, feedback_rating, feedback_at';
const CONVERSATION_COLUMNS =
  'id, owner_id, title, title_source, archived, pinned, next_seq, current_leaf_id, created_at, updated_at, last_message_at';
const MARK_COLUMNS =
  'message_id, conversation_id, seq, kind, content, token_count, summarized_count, model, created_at';

/** COPY text format: NULL is \N; backslash, tab, newline and return are escaped. */
function field(value: string | number | boolean | null): string {
  if (value === null) return '\\N';
  if (typeof value !== 'string') return String(value);
  return /[\\\t\n\r]/.test(value)
    ? value.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r')
    : value;
}

const time = (ms: number): string => new Date(ms).toISOString();

/** A COPY stream fed in ~256 KB writes, waiting when PostgreSQL falls behind. */
class CopyWriter {
  private buffer: string[] = [];
  private size = 0;
  rows = 0;

  constructor(private readonly stream: Writable) {}

  row(fields: (string | number | boolean | null)[]): Promise<void> | undefined {
    const line = fields.map(field).join('\t') + '\n';
    this.buffer.push(line);
    this.size += line.length;
    this.rows++;
    return this.size > 256 * 1024 ? this.flush() : undefined;
  }

  async flush(): Promise<void> {
    const chunk = this.buffer.join('');
    this.buffer = [];
    this.size = 0;
    if (!this.stream.write(chunk)) await once(this.stream, 'drain');
  }

  async end(): Promise<void> {
    await this.flush();
    this.stream.end();
    await once(this.stream, 'finish');
  }
}

async function load(
  url: string,
  shape: DatasetShape,
  log: (line: string) => void,
): Promise<DatabaseFigures> {
  const admin = new Client({ connectionString: url });
  admin.on('error', () => undefined);
  await admin.connect();
  const defs = await definitions(admin);
  for (const c of defs.constraints.filter((c) => c.type === 'f')) {
    await admin.query(`ALTER TABLE ${c.table} DROP CONSTRAINT "${c.name}"`);
  }
  for (const c of defs.constraints.filter((c) => c.type !== 'f')) {
    await admin.query(`ALTER TABLE ${c.table} DROP CONSTRAINT "${c.name}"`);
  }
  for (const index of defs.indexes) await admin.query(`DROP INDEX ${index.name}`);

  // One connection and transaction per table: TRUNCATE then COPY in it writes no WAL.
  const copyStart = performance.now();
  const open = async (table: string, columns: string, truncate = true) => {
    const client = new Client({ connectionString: url });
    client.on('error', () => undefined);
    await client.connect();
    await client.query('BEGIN');
    // Rows as they stood before messages.owner_id: its trigger (which fills it) stays off.
    await client.query('SET LOCAL session_replication_role = replica');
    if (truncate) await client.query(`TRUNCATE ${table}`);
    const stream = client.query(copyFrom(`COPY ${table} (${columns}) FROM STDIN`));
    return { client, writer: new CopyWriter(stream) };
  };
  const conversations = await open('conversations', CONVERSATION_COLUMNS);
  const marks = await open('memory_marks', MARK_COLUMNS);
  // Messages are most of the work (their search_vector is computed as they arrive), so they
  // go through two connections, a conversation's to one: two cores. Two transactions
  // cannot both have truncated the table, so these write WAL (fsync is off meanwhile).
  const messageStreams = [
    await open('messages', MESSAGE_COLUMNS, false),
    await open('messages', MESSAGE_COLUMNS, false),
  ];
  let messages = messageStreams[0];
  let messageRows = 0;
  let nextReport = 1_000_000;
  await generate(shape, {
    conversation: (c: ConversationRow) => {
      messages = messageStreams[conversations.writer.rows % messageStreams.length];
      return conversations.writer.row([
        c.id,
        c.ownerId,
        c.title,
        c.title ? 'generated' : null,
        c.archived,
        c.pinned,
        c.nextSeq,
        c.currentLeafId,
        time(c.createdAt),
        time(c.lastMessageAt),
        time(c.lastMessageAt),
      ]);
    },
    message: (m: MessageRow) => {
      if (++messageRows >= nextReport) {
        const sec = (performance.now() - copyStart) / 1000;
        log(`  ${nextReport.toLocaleString('en')} messages in ${sec.toFixed(0)} s`);
        nextReport += 1_000_000;
      }
      const assistant = m.role === 'assistant';
      return messages.writer.row([
        m.id,
        m.conversationId,
        m.parentId,
        m.seq,
        m.role,
        m.content,
        m.status,
        m.tokenCount,
        assistant ? 'lmstudio/default' : null,
        assistant ? 'bench-model' : null,
        m.latencyMs,
        assistant && m.status === 'complete' ? 'stop' : null,
        m.status === 'failed'
          ? 'provider_error'
          : m.status === 'cancelled'
            ? 'turn_cancelled'
            : null,
        time(m.createdAt),
        time(m.completedAt),
        m.feedback,
        m.feedback ? time(m.completedAt + 60_000) : null,
      ]);
    },
    mark: (k: MarkRow) =>
      marks.writer.row([
        k.messageId,
        k.conversationId,
        k.seq,
        'summary',
        k.content,
        k.tokenCount,
        k.summarizedCount,
        'lmstudio/default',
        time(k.createdAt),
      ]),
  });
  for (const table of [conversations, ...messageStreams, marks]) {
    await table.writer.end();
    await table.client.query('COMMIT');
    await table.client.end();
  }
  const copySec = (performance.now() - copyStart) / 1000;
  log(`  COPY: ${messageRows.toLocaleString('en')} messages in ${copySec.toFixed(0)} s`);

  const indexStart = performance.now();
  const timed = async (sqlText: string) => {
    const t = performance.now();
    await admin.query(sqlText);
    log(`  ${((performance.now() - t) / 1000).toFixed(1)} s  ${sqlText.slice(0, 110)}`);
  };
  for (const c of defs.constraints.filter((c) => c.type !== 'f')) {
    await timed(`ALTER TABLE ${c.table} ADD CONSTRAINT "${c.name}" ${c.def}`);
  }
  for (const index of defs.indexes) await timed(index.def);
  for (const c of defs.constraints.filter((c) => c.type === 'f')) {
    await timed(`ALTER TABLE ${c.table} ADD CONSTRAINT "${c.name}" ${c.def}`);
  }
  const indexSec = (performance.now() - indexStart) / 1000;
  const vacuumStart = performance.now();
  for (const table of TABLES) await timed(`VACUUM (FREEZE, ANALYZE) ${table}`);
  const vacuumSec = (performance.now() - vacuumStart) / 1000;

  const sizes = await admin.query<{ name: string; heap: string; indexes: string }>(
    `SELECT relname AS name, pg_table_size(oid)::text AS heap, pg_indexes_size(oid)::text AS indexes
     FROM pg_class WHERE relname = ANY($1::text[]) AND relkind = 'r'`,
    [TABLES],
  );
  const indexSizes = await admin.query<{ name: string; bytes: string }>(
    `SELECT indexrelid::regclass::text AS name, pg_relation_size(indexrelid)::text AS bytes
     FROM pg_index WHERE indrelid = ANY($1::regclass[]) ORDER BY 1`,
    [TABLES],
  );
  const counts = await admin.query<{ owners: string; conversations: string }>(
    `SELECT count(DISTINCT owner_id)::text AS owners, count(*)::text AS conversations FROM conversations`,
  );
  const bytes = await admin.query<{ bytes: string }>(
    'SELECT pg_database_size(current_database())::text AS bytes',
  );
  await admin.end();
  return {
    owners: Number(counts.rows[0].owners),
    conversations: Number(counts.rows[0].conversations),
    messages: messageRows,
    marks: marks.writer.rows,
    copySec: Math.round(copySec),
    indexSec: Math.round(indexSec),
    vacuumSec: Math.round(vacuumSec),
    bytes: Number(bytes.rows[0].bytes),
    tables: Object.fromEntries(
      sizes.rows.map((r) => [r.name, { heap: Number(r.heap), indexes: Number(r.indexes) }]),
    ),
    indexes: Object.fromEntries(indexSizes.rows.map((r) => [r.name, Number(r.bytes)])),
  };
}

if (require.main === module) {
  const at = process.argv.indexOf('--scale');
  const scale = at > 0 ? Number(process.argv[at + 1]) : 1;
  if (!(scale > 0 && scale <= 1)) throw new Error('--scale must be in (0, 1]');
  const log = (line: string) =>
    process.stdout.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);
  scaleDataDir(scale, log).then(
    ({ dataDir, info, built }) => {
      log(`${built ? 'built' : 'cached'}: ${dataDir}`);
      log(JSON.stringify(info, null, 2));
      process.exit(0);
    },
    (error: unknown) => {
      process.stderr.write(
        `seed failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exit(1);
    },
  );
}
