import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';

import { EmbeddedDatabase } from '../../src/database/embedded-database';
import { applyMigrations } from '../../src/database/migrations';
import { TEMPLATE_DATABASE } from '../utils/database';
import { freePort } from '../utils/free-port';

async function reachable(url: string): Promise<boolean> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(1000) })).ok;
  } catch {
    return false;
  }
}

/** One throw-away PostgreSQL for the whole run, with a migrated template database. */
export default async function globalSetup(): Promise<void> {
  // Not mkdtemp: its 0700 folder would shut out the postgres user the server runs as under root.
  const dataDir = path.join(os.tmpdir(), `chat-test-pg-${randomBytes(6).toString('hex')}`);
  const database = new EmbeddedDatabase({ dataDir, port: await freePort(), persistent: false });
  await database.start();
  (globalThis as { __testDatabase?: EmbeddedDatabase }).__testDatabase = database;
  await database.createDatabase(TEMPLATE_DATABASE);
  await applyMigrations(database.url(TEMPLATE_DATABASE));
  // Test workers are forked after this and inherit the environment.
  process.env.TEST_DATABASE_SERVER_URL = database.url('postgres');
  process.env.TEST_LMSTUDIO_REACHABLE = String(
    await reachable(`${process.env.LMSTUDIO_BASE_URL ?? 'http://localhost:1234/v1'}/models`),
  );
}
