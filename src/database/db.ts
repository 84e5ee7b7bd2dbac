import { Injectable } from '@nestjs/common';
import {
  CamelCasePlugin,
  Kysely,
  KyselyPlugin,
  PostgresDialect,
  PostgresPool,
  PostgresPoolClient,
} from 'kysely';
import { Pool, PoolClient, Query, QueryResult } from 'pg';

import type { DB } from '../generated/kysely/database';
import { preciseTypes } from './precise-timestamps';
import { PrismaService } from './prisma.service';

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
      if (!wrapper) {
        wrappers.set(client, (wrapper = preparing(client)));
        // A connection lost mid-query fails the query (its caller hears it) and also fires
        // the client's 'error' event, which the pool listens to only while the client is
        // idle: unheard, it would end the process. The pool drops the client on release.
        client.on('error', () => undefined);
      }
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
