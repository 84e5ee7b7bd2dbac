import {
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
} from 'kysely';

import type { DB } from '../generated/kysely/database';
import { Db, dbPlugins } from './db';

/**
 * Db as the repositories use it (same dialect and plugins), compiling only: no connection.
 * For tools that need a repository's SQL without a database (scripts/sync-sql.ts, probes).
 */
export function compilingDb(): Db {
  return new Kysely<DB>({
    dialect: {
      createAdapter: () => new PostgresAdapter(),
      createDriver: () => new DummyDriver(),
      createIntrospector: (kysely) => new PostgresIntrospector(kysely),
      createQueryCompiler: () => new PostgresQueryCompiler(),
    },
    plugins: dbPlugins(),
  });
}
