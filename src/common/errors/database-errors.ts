import { AppException } from './app.exception';

/** Seconds a client is asked to wait when the database does not answer. */
export const DATABASE_RETRY_AFTER_SECONDS = 5;

/** Prisma's codes for "cannot reach / lost / timed out on the server or the pool". */
const PRISMA_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024']);

/** What each way of losing the database is called in a message, by pg, adapter or socket code. */
const REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EHOSTUNREACH: 'host unreachable',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection closed',
  ETIMEDOUT: 'connection timed out',
  DatabaseNotReachable: 'server not reachable',
  ConnectionClosed: 'connection closed by the server',
  SocketTimeout: 'connection timed out',
  TooManyConnections: 'too many connections',
  '53300': 'too many connections',
  '57P01': 'the server ended the connection',
  '57P02': 'the server ended the connection',
  '57P03': 'the server is starting up or shutting down',
};

/** pg's own errors that carry no code. */
const MESSAGES: [RegExp, string][] = [
  [/Connection terminated/i, 'connection closed by the server'],
  [/timeout exceeded when trying to connect/i, 'timed out waiting for a connection'],
];

interface Outage {
  reason: string;
  code?: string;
}

/** The codes one error carries: an adapter's `kind`, a driver's or Prisma's `code`. */
function codesOf(error: Record<string, unknown>): string[] {
  return [error.kind, error.code].filter((c): c is string => typeof c === 'string');
}

/** The errors wrapped inside one another: Prisma's, its adapter's, the driver's. */
function chain(error: unknown): Record<string, unknown>[] {
  const found: Record<string, unknown>[] = [];
  let next: unknown = error;
  while (next && typeof next === 'object' && found.length < 5 && !found.includes(next as never)) {
    const current = next as Record<string, unknown>;
    found.push(current);
    const meta = current.meta as Record<string, unknown> | undefined;
    next = meta?.driverAdapterError ?? current.cause;
  }
  return found;
}

function outageOf(link: Record<string, unknown>): Outage | undefined {
  for (const code of codesOf(link)) {
    if (REASONS[code]) return { reason: REASONS[code], code };
    // SQLSTATE class 08: connection exceptions.
    if (/^08[0-9A-Z]{3}$/.test(code)) return { reason: 'connection failure', code };
    if (PRISMA_CODES.has(code)) return { reason: 'server not reachable', code };
  }
  const message = typeof link.message === 'string' ? link.message : '';
  const known = MESSAGES.find(([pattern]) => pattern.test(message));
  return known && { reason: known[1] };
}

/** Why the database cannot be used, when that is what `error` says; undefined otherwise. */
export function databaseOutage(error: unknown): Outage | undefined {
  // The innermost cause names it best (ECONNREFUSED rather than Prisma's P1001).
  for (const link of chain(error).reverse()) {
    const outage = outageOf(link);
    if (outage) return outage;
  }
  return undefined;
}

/** One line on a database error, for logs and readiness: never SQL, credentials or hosts. */
export function describeDatabaseError(error: unknown): string {
  const outage = databaseOutage(error);
  if (outage) return outage.code ? `${outage.reason} (${outage.code})` : outage.reason;
  const first = chain(error)
    .map((link) => (typeof link.message === 'string' ? link.message.trim() : ''))
    .find(Boolean);
  return first?.split('\n')[0] ?? String(error);
}

/** 503 database_unavailable for an error that says the database cannot be reached. */
export function toDatabaseUnavailable(error: unknown): AppException | undefined {
  const outage = databaseOutage(error);
  if (!outage) return undefined;
  return new AppException(
    'database_unavailable',
    `The database is not answering (${outage.reason}); try again in a few seconds`,
    { retryAfter: DATABASE_RETRY_AFTER_SECONDS },
  );
}

/** A unique constraint refused a write: `constraint` names which one. */
export function isUniqueViolation(error: unknown, constraint: string): boolean {
  const pg = error as { code?: unknown; constraint?: unknown };
  return pg?.code === '23505' && pg.constraint === constraint;
}
