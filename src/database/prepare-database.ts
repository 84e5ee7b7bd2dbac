import path from 'node:path';

import type { Logger } from 'pino';

import { Env } from '../config/env';
import { EmbeddedDatabase } from './embedded-database';
import { applyMigrations } from './migrations';
import { waitForDatabase } from './wait-for-database';

export interface PreparedDatabase {
  url: string;
  /** Where it is, for the start-up line; never credentials. */
  description: string;
  /** Stops the embedded server, if one was started. */
  stop(): Promise<void>;
}

export const EMBEDDED_DB_NAME = 'chat';

/**
 * The database the service will use, migrated: DATABASE_URL when set, otherwise an
 * embedded PostgreSQL whose data survives restarts in EMBEDDED_DB_DIR.
 */
export async function prepareDatabase(env: Env, log: Logger): Promise<PreparedDatabase> {
  let url = env.DATABASE_URL;
  let embedded: EmbeddedDatabase | undefined;
  let description: string;
  if (url) {
    const { host, pathname } = new URL(url);
    description = `PostgreSQL at ${host}${pathname} (DATABASE_URL)`;
    await waitForDatabase(url, `PostgreSQL at ${host}${pathname}`, env.DB_STARTUP_WAIT_MS, log);
  } else {
    embedded = new EmbeddedDatabase({
      dataDir: env.EMBEDDED_DB_DIR,
      port: env.EMBEDDED_DB_PORT,
      ownSession: true,
      onOrphanStopped: (pid, owner) =>
        log.warn(
          `stopped the embedded PostgreSQL (PID ${pid}) left running by a service that died (PID ${owner}); starting it afresh`,
        ),
    });
    log.debug(`DATABASE_URL is unset: starting the embedded PostgreSQL in ${embedded.dataDir}`);
    await embedded.start();
    await embedded.createDatabase(EMBEDDED_DB_NAME);
    url = embedded.url(EMBEDDED_DB_NAME);
    description = `embedded PostgreSQL on 127.0.0.1:${env.EMBEDDED_DB_PORT}, data in ${path.resolve(env.EMBEDDED_DB_DIR)}`;
  }
  try {
    const output = await applyMigrations(url);
    if (/No pending migrations/.test(output)) log.debug('schema up to date');
    else log.info('applied pending migrations');
  } catch (error) {
    await embedded?.stop();
    throw error;
  }
  return { url, description, stop: async () => embedded?.stop() };
}
