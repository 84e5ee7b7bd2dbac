import { Injectable } from '@nestjs/common';
import {
  CamelCasePlugin,
  Kysely,
  KyselyPlugin,
  PostgresDialect,
  PostgresPool,
  PostgresPoolClient,
} from 'kysely';
import { Pool, PoolClient, Query, QueryResult, types } from 'pg';

import type { DB } from '../generated/kysely/database';
import { PrismaService } from './prisma.service';

/**
 * A timestamp read with its microseconds: PostgreSQL stores them, a Date keeps
 * milliseconds. Columns of microsecond precision (a message's createdAt, completedAt) keep
 * two events of one statement distinct and in order; the ISO string carries the digits
 * past the millisecond when there are any, so times of millisecond columns read as before.
 */
export class PreciseDate extends Date {
  constructor(
    time: number,
    /** Microseconds past the millisecond, 0 to 999. */
    readonly micros: number,
  ) {
    super(time);
  }

  override toISOString(): string {
    const iso = super.toISOString();
    return this.micros ? `${iso.slice(0, -1)}${String(this.micros).padStart(3, '0')}Z` : iso;
  }
}

const TIMESTAMPTZ_OID = 1184;
type TextParser = (text: string) => unknown;
/** pg types its parsers `any`. */
const parserOf = (oid: number) => types.getTypeParser(oid, 'text') as TextParser;
const parseTimestamptz = parserOf(TIMESTAMPTZ_OID);
/** The fraction of a second as PostgreSQL writes it: `hh:mm:ss.ffffff` (zeros trimmed). */
const FRACTION = /:\d{2}\.\d{3}(\d{1,3})/;

function parsePreciseTimestamptz(text: string): Date {
  const date = parseTimestamptz(text) as Date;
  const micros = FRACTION.exec(text)?.[1];
  return micros ? new PreciseDate(date.getTime(), Number(micros.padEnd(3, '0'))) : date;
}

/** Kysely's results (text format): timestamptz as a PreciseDate, the rest as pg parses it. */
const preciseTypes = {
  getTypeParser: (oid: number): TextParser =>
    oid === TIMESTAMPTZ_OID ? parsePreciseTimestamptz : parserOf(oid),
};

/** Distinct statements a connection keeps prepared; anything past it runs unnamed. */
const MAX_NAMED_STATEMENTS = 200;

/**
 * The pool as Kysely sees it, with every statement sent as a named prepared statement:
 * each connection parses and plans the turn's long CTEs once instead of per turn. Kysely
 * builds the same text for the same query shape, so the text is the statement's identity.
 */
function preparingPool(pool: Pool): PostgresPool {
  const names = new Map<string, string>();
  const nameOf = (text: string): string | undefined => {
    let name = names.get(text);
    if (name === undefined && names.size < MAX_NAMED_STATEMENTS) {
      name = `k${names.size}`;
      names.set(text, name);
    }
    return name;
  };
  const preparing = (client: PoolClient): PostgresPoolClient => ({
    query: ((text: string, values: unknown[]) =>
      new Promise<QueryResult>((resolve, reject) => {
        // A Query made here, named after: given to client.query as a config object
        // instead, pg copies it on every call and wraps it in one more promise.
        const query = new Query({ text, types: preciseTypes }, values, (error, result) =>
          error ? reject(error) : resolve(result),
        );
        (query as Query & { name?: string }).name = nameOf(text);
        client.query(query);
      })) as unknown as PostgresPoolClient['query'],
    // Kysely asks for a connection whose rollback failed to be destroyed, not reused.
    release: (destroy?: boolean) => client.release(destroy),
  });
  // One wrapper per connection, so Kysely recognises the connection and keeps its own
  // per-connection object instead of making a new one for every statement.
  const wrappers = new WeakMap<PoolClient, PostgresPoolClient>();
  return {
    connect: async (): Promise<PostgresPoolClient> => {
      const client = await pool.connect();
      let wrapper = wrappers.get(client);
      if (!wrapper) wrappers.set(client, (wrapper = preparing(client)));
      return wrapper;
    },
    // The pool is PrismaService's and closed by it, last, at shutdown.
    end: () => Promise.resolve(),
  };
}

/** How Db turns queries into SQL: camelCase in TypeScript, snake_case in the database. */
export function dbPlugins(): KyselyPlugin[] {
  return [new CamelCasePlugin()];
}

/**
 * Typed SQL on the same pool Prisma uses: row types are generated from the Prisma schema
 * (src/generated/kysely), so a column change reaches the compiler. Every query goes through
 * it, in repositories: Prisma's query engine cost more CPU than the queries themselves.
 */
@Injectable()
export class Db extends Kysely<DB> {
  constructor(prisma: PrismaService) {
    super({
      dialect: new PostgresDialect({ pool: preparingPool(prisma.pool) }),
      plugins: dbPlugins(),
    });
  }
}
