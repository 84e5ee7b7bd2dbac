import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';

import { Client } from 'pg';

import { EmbeddedDatabase } from '../../src/database/embedded-database';
import { applyMigrations } from '../../src/database/migrations';
import { TEMPLATE_DATABASE } from '../utils/database';
import { freePort } from '../utils/free-port';

/**
 * A throw-away server needs no crash safety: without fsync, dropping and cloning the
 * per-spec databases and committing each statement cost a fraction of the time.
 */
async function withoutDurability(url: string): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    for (const setting of ['fsync', 'full_page_writes', 'synchronous_commit'])
      await client.query(`ALTER SYSTEM SET ${setting} = off`);
    await client.query('SELECT pg_reload_conf()');
  } finally {
    await client.end();
  }
}

/** One throw-away PostgreSQL for the whole run, with a migrated template database. */
export default async function globalSetup(): Promise<void> {
  // Not mkdtemp: its 0700 folder would shut out the postgres user the server runs as under root.
  const dataDir = path.join(os.tmpdir(), `chat-test-pg-${randomBytes(6).toString('hex')}`);
  const database = new EmbeddedDatabase({ dataDir, port: await freePort(), persistent: false });
  await database.start();
  await withoutDurability(database.url('postgres'));
  (globalThis as { __testDatabase?: EmbeddedDatabase }).__testDatabase = database;
  await database.createDatabase(TEMPLATE_DATABASE);
  await applyMigrations(database.url(TEMPLATE_DATABASE));
  // Test workers are forked after this and inherit the environment.
  process.env.TEST_DATABASE_SERVER_URL = database.url('postgres');
  // Apps a spec starts from this environment make no title calls unless it asks for them.
  process.env.TITLES ??= 'off';
}
