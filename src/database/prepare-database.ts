import path from 'node:path';

import type { Logger } from 'pino';

import { Env } from '../config/env';
import { EmbeddedDatabase } from './embedded-database';
import { applyMigrations } from './migrations';

export interface PreparedDatabase {
  url: string;
  /** Stops the embedded server, if one was started. */
  stop(): Promise<void>;
}

const EMBEDDED_DB_NAME = 'chat';

/**
 * The database the service will use, migrated: DATABASE_URL when set, otherwise an
 * embedded PostgreSQL whose data survives restarts in EMBEDDED_DB_DIR.
 */
export async function prepareDatabase(env: Env, log: Logger): Promise<PreparedDatabase> {
  let url = env.DATABASE_URL;
  let embedded: EmbeddedDatabase | undefined;
  if (url) {
    log.info({ database: new URL(url).host }, 'using the PostgreSQL server named by DATABASE_URL');
  } else {
    embedded = new EmbeddedDatabase({ dataDir: env.EMBEDDED_DB_DIR, port: env.EMBEDDED_DB_PORT });
    await embedded.start();
    await embedded.createDatabase(EMBEDDED_DB_NAME);
    url = embedded.url(EMBEDDED_DB_NAME);
    log.info(
      `DATABASE_URL is unset: embedded PostgreSQL on 127.0.0.1:${env.EMBEDDED_DB_PORT}, data in ${path.resolve(env.EMBEDDED_DB_DIR)}`,
    );
  }
  try {
    const output = await applyMigrations(url);
    log.info(
      /No pending migrations/.test(output) ? 'schema up to date' : 'applied pending migrations',
    );
  } catch (error) {
    await embedded?.stop();
    throw error;
  }
  return { url, stop: async () => embedded?.stop() };
}
