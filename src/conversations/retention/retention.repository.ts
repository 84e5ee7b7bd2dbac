import { Injectable } from '@nestjs/common';
import { sql } from 'kysely';

import { Db } from '../../database/db';

/** The retention sweep's statement. */
@Injectable()
export class RetentionRepository {
  constructor(private readonly db: Db) {}

  /**
   * Deletes up to `limit` conversations (with their messages) inactive for more than
   * `days`, oldest activity first, stopping once about `messages` messages are taken
   * (conversations.next_seq counts them; at least one conversation), and returns how many
   * conversations went. SKIP LOCKED: two sweeps never take the same rows, and a
   * conversation a turn is claiming right now is skipped; one with a claim held is never
   * deleted (re-checked on the locked row).
   */
  async deleteExpired(days: number, limit: number, messages: number): Promise<number> {
    const expired = this.db
      .selectFrom('conversations')
      .select(['id', 'nextSeq', 'lastMessageAt'])
      .where('lastMessageAt', '<', sql<Date>`now() - make_interval(days => ${days}::int)`)
      .where('activeTurnId', 'is', null)
      .orderBy('lastMessageAt')
      .limit(limit)
      .forUpdate()
      .skipLocked();
    const result = await this.db
      .deleteFrom('conversations')
      .where('id', 'in', (eb) =>
        eb
          .selectFrom(
            eb
              .selectFrom(expired.as('e'))
              .select('e.id')
              .select(
                sql<number>`sum(e.next_seq) over (order by e.last_message_at, e.id) - e.next_seq`.as(
                  'before',
                ),
              )
              .as('x'),
          )
          .select('x.id')
          .where('x.before', '<', messages),
      )
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
