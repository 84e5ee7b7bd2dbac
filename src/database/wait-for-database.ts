import { setTimeout as sleep } from 'node:timers/promises';

import { Client } from 'pg';
import type { Logger } from 'pino';

import { databaseOutage } from '../common/errors/database-errors';

/** Name-resolution failures a DNS that does not know the database's host *yet* answers. */
const NOT_YET_RESOLVED = new Set(['EAI_AGAIN', 'ENETUNREACH']);
const FIRST_DELAY_MS = 250;
const MAX_DELAY_MS = 5000;
const CONNECT_TIMEOUT_MS = 5000;

/** What retrying can fix: the server is not there yet, or is starting up. */
function transientReason(error: unknown): string | undefined {
  const outage = databaseOutage(error);
  if (outage) return outage.code ? `${outage.reason} (${outage.code})` : outage.reason;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && NOT_YET_RESOLVED.has(code)) return `host not resolved (${code})`;
  return undefined;
}

/** pg's message, with the SQLSTATE; never the URL. */
function describe(error: unknown): string {
  const { message, code } = error as { message?: unknown; code?: unknown };
  const text = typeof message === 'string' ? message : String(error);
  return typeof code === 'string' ? `${text} (${code})` : text;
}

async function connectOnce(url: string, timeoutMs: number): Promise<void> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  // A server dropping the connection emits 'error' on the client besides rejecting.
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('select 1');
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Waits for an external PostgreSQL to accept connections, with backoff, for up to
 * `waitMs`: in compose or Kubernetes the service may start before its database, and
 * waiting beats a restart loop. Only errors retrying can fix are waited out (refused,
 * unknown host, starting up); a wrong password or a missing database fail at once.
 */
export async function waitForDatabase(
  url: string,
  where: string,
  waitMs: number,
  log: Logger,
): Promise<void> {
  const deadline = Date.now() + waitMs;
  let delay = FIRST_DELAY_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      await connectOnce(url, Math.max(1000, Math.min(CONNECT_TIMEOUT_MS, deadline - Date.now())));
      if (attempt > 1) log.info({ attempt }, `${where} is answering`);
      return;
    } catch (error) {
      const reason = transientReason(error);
      if (!reason)
        throw new Error(
          `${where} refused the service: ${describe(error)}; check DATABASE_URL (retrying cannot fix this)`,
        );
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `${where} did not answer within DB_STARTUP_WAIT_MS=${waitMs} ms (last try: ${reason}); ` +
            'start it, check DATABASE_URL, or raise DB_STARTUP_WAIT_MS',
        );
      const next = Math.min(delay, left);
      log.warn(
        { attempt, nextTryInMs: next },
        `${where} is not answering (${reason}); next try in ${next} ms`,
      );
      await sleep(next);
      delay = Math.min(delay * 2, MAX_DELAY_MS);
    }
  }
}
