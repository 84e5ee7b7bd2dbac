import { Injectable } from '@nestjs/common';
import { sql } from 'kysely';

import { Db } from '../../database/db';

/** The retention sweep's statement. */
@Injectable()
export class RetentionRepository {
  constructor(private readonly db: Db) {}

  /**
   * Deletes up to `limit` conversations (with their messages) inactive for more than
   * `days`, oldest activity first, and returns how many went. SKIP LOCKED: two sweeps
   * never take the same rows, and a conversation a turn is claiming right now is skipped;
   * one with a claim held is never deleted (re-checked on the locked row).
   */
  async deleteExpired(days: number, limit: number): Promise<number> {
    const result = await this.db
      .deleteFrom('conversations')
      .where('id', 'in', (eb) =>
        eb
          .selectFrom('conversations')
          .select('id')
          .where('lastMessageAt', '<', sql<Date>`now() - make_interval(days => ${days}::int)`)
          .where('activeTurnId', 'is', null)
          .orderBy('lastMessageAt')
          .limit(limit)
          .forUpdate()
          .skipLocked(),
      )
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
