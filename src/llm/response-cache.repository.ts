import { Injectable } from '@nestjs/common';
import { sql } from 'kysely';

import { Db } from '../database/db';

/** The response_cache table (UNLOGGED, shared by replicas); time is the database's. */
@Injectable()
export class ResponseCacheRepository {
  constructor(private readonly db: Db) {}

  async findLive(key: string): Promise<unknown> {
    const row = await this.db
      .selectFrom('responseCache')
      .select('reply')
      .where('key', '=', key)
      .where('expiresAt', '>', sql<Date>`now()`)
      .executeTakeFirst();
    return row?.reply;
  }

  /**
   * Stores a reply for `ttlS` seconds and, in the same statement, evicts the oldest entries
   * beyond `maxEntries`. A live entry for the key is left alone (a concurrent identical
   * request stored the same reply); an expired one is replaced. The eviction reads the
   * snapshot before the insert and skips the key, so it keeps `maxEntries - 1` others.
   */
  async store(key: string, reply: unknown, ttlS: number, maxEntries: number): Promise<void> {
    const expiresAt = sql<Date>`now() + make_interval(secs => ${ttlS})`;
    await this.db
      .with('stored', (db) =>
        db
          .insertInto('responseCache')
          .values({ key, reply: JSON.stringify(reply), createdAt: sql`now()`, expiresAt })
          .onConflict((oc) =>
            oc
              .column('key')
              .doUpdateSet((eb) => ({
                reply: eb.ref('excluded.reply'),
                createdAt: sql`now()`,
                expiresAt,
              }))
              .where('responseCache.expiresAt', '<=', sql<Date>`now()`),
          )
          .returning('key'),
      )
      .deleteFrom('responseCache')
      .where('key', 'in', (eb) =>
        eb
          .selectFrom('responseCache')
          .select('key')
          .where('key', '<>', key)
          .orderBy('createdAt', 'desc')
          .orderBy('key', 'desc')
          .offset(maxEntries - 1),
      )
      .execute();
  }

  /** Deletes expired entries; returns how many. */
  async deleteExpired(): Promise<number> {
    const result = await this.db
      .deleteFrom('responseCache')
      .where('expiresAt', '<=', sql<Date>`now()`)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
