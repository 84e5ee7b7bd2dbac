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
   * `days`, oldest activity first, and returns how many went with the files their messages
   * carried (read in the same statement, before the rows go). SKIP LOCKED: two sweeps never
   * take the same rows, and a conversation a turn is claiming right now is skipped; one with
   * a claim held is never deleted (re-checked on the locked row).
   */
  @GenerateSql({ params: [30, 500] })
  expiredQuery(days: number, limit: number) {
    return this.db
      .with('doomed', (db) =>
        db
          .selectFrom('conversations')
          .select('id')
          .where('lastMessageAt', '<', sql<Date>`now() - make_interval(days => ${days}::int)`)
          .where('activeTurnId', 'is', null)
          .orderBy('lastMessageAt')
          .limit(limit)
          .forUpdate()
          .skipLocked(),
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

  async deleteExpired(days: number, limit: number): Promise<ExpiredBatch> {
    const row = await this.expiredQuery(days, limit).executeTakeFirstOrThrow();
    return { deleted: Number(row.deleted ?? 0), files: row.files };
  }
}
