import { Injectable } from '@nestjs/common';
import { sql } from 'kysely';
import { jsonArrayFrom } from 'kysely/helpers/postgres';

import { Db } from '../../database/db';
import { GenerateSql } from '../../database/generate-sql';

/** A file the deleted messages carried: its owner and id. */
export interface ReleasedFile {
  ownerId: string;
  id: string;
}

/** What one batch of the sweep deleted, and the files its messages carried. */
export interface ExpiredBatch {
  deleted: number;
  files: ReleasedFile[];
}

/** The retention sweep's statement. */
@Injectable()
export class RetentionRepository {
  constructor(private readonly db: Db) {}

  /**
   * Deletes up to `limit` conversations (with their messages) inactive for more than
   * `days`, oldest activity first, stopping once about `messages` messages are taken
   * (conversations.next_seq counts them; at least one conversation), and returns how many
   * went with the files their messages carried (read in the same statement, before the
   * rows go). SKIP LOCKED: two sweeps never take the same rows, and a conversation a turn is
   * claiming right now is skipped; one with a claim held is never deleted (re-checked on
   * the locked row).
   */
  @GenerateSql({ params: [30, 500, 5000] })
  expiredQuery(days: number, limit: number, messages: number) {
    return this.db
      .with('expired', (db) =>
        db
          .selectFrom('conversations')
          .select(['id', 'nextSeq', 'lastMessageAt'])
          .where('lastMessageAt', '<', sql<Date>`now() - make_interval(days => ${days}::int)`)
          .where('activeTurnId', 'is', null)
          .orderBy('lastMessageAt')
          .limit(limit)
          .forUpdate()
          .skipLocked(),
      )
      .with('doomed', (db) =>
        db
          .selectFrom((eb) =>
            eb
              .selectFrom('expired as e')
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
      .with('carried', (db) =>
        db
          .selectFrom('messageAttachments as ma')
          .innerJoin('messages as m', 'm.id', 'ma.messageId')
          .innerJoin('files as f', 'f.id', 'ma.fileId')
          .where('m.conversationId', 'in', (eb) => eb.selectFrom('doomed').select('doomed.id'))
          .select(['f.ownerId', 'f.id'])
          .distinct(),
      )
      .with('gone', (db) =>
        db
          .deleteFrom('conversations')
          .where('id', 'in', (eb) => eb.selectFrom('doomed').select('doomed.id'))
          .returning('id'),
      )
      .selectNoFrom((eb) => [
        eb
          .selectFrom('gone')
          .select((e) => e.fn.countAll<string>().as('n'))
          .as('deleted'),
        jsonArrayFrom(eb.selectFrom('carried').select(['carried.ownerId', 'carried.id'])).as(
          'files',
        ),
      ]);
  }

  async deleteExpired(days: number, limit: number, messages: number): Promise<ExpiredBatch> {
    const row = await this.expiredQuery(days, limit, messages).executeTakeFirstOrThrow();
    return { deleted: Number(row.deleted ?? 0), files: row.files };
  }
}
