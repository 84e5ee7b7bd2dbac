import { Injectable } from '@nestjs/common';
import { sql } from 'kysely';

import { Db } from '../../database/db';
import { GenerateSql } from '../../database/generate-sql';

/** The backfills row of messages.owner_id (created by its migration). */
export const OWNER_BACKFILL = 'messages.owner_id';

export interface FilledBatch {
  /** False when another process holds the backfill, or it is done. */
  claimed: boolean;
  conversations: number;
  messages: number;
  done: boolean;
}

/**
 * The backfill of messages.owner_id, owner by owner (conversations in (owner_id, id) order,
 * conversations_owner_id_idx): every owner before the row's owner_position is complete.
 */
@Injectable()
export class OwnerBackfillRepository {
  constructor(private readonly db: Db) {}

  /** Fills up to `limit` conversations, stopping after about `messages` messages. */
  async fillBatch(limit: number, messages: number): Promise<FilledBatch> {
    const result = await this.buildFillBatch(limit, messages).execute(this.db);
    const row = result.rows[0];
    return { ...row, conversations: Number(row.conversations), messages: Number(row.messages) };
  }

  async isDone(): Promise<boolean> {
    const row = await this.db
      .selectFrom('backfills')
      .select('doneAt')
      .where('name', '=', OWNER_BACKFILL)
      .executeTakeFirst();
    return row?.doneAt != null;
  }

  /**
   * One batch in one statement: locks the backfill's row (SKIP LOCKED: a replica filling
   * right now is left alone, nobody waits), fills owner_id on the messages of the next
   * conversations after its position (up to `limit`, and no more once `messages` are
   * reached: conversations.next_seq counts them), moves the position past them, and marks
   * the backfill done when none was left. Messages stored meanwhile carry their owner
   * already (`owner_id is null` skips them).
   */
  @GenerateSql({ params: [200, 2000] })
  private buildFillBatch(limit: number, messages: number) {
    return sql<{ claimed: boolean; conversations: string; messages: string; done: boolean }>`
      with state as (
        select b.owner_position, b.position from backfills b
        where b.name = ${OWNER_BACKFILL} and b.done_at is null
        for update skip locked
      ),
      next as (
        select c.id, c.owner_id,
          sum(c.next_seq) over (order by c.owner_id, c.id) - c.next_seq as before
        from (
          select c.id, c.owner_id, c.next_seq from conversations c, state s
          where (c.owner_id, c.id) > (s.owner_position, s.position)
          order by c.owner_id, c.id limit ${limit}
        ) c
      ),
      batch as (select n.id, n.owner_id from next n where n.before < ${messages}),
      filled as (
        update messages m set owner_id = b.owner_id from batch b
        where m.conversation_id = b.id and m.owner_id is null
        returning 1
      ),
      last as (select b.owner_id, b.id from batch b order by b.owner_id desc, b.id desc limit 1),
      moved as (
        update backfills set
          owner_position = coalesce((select owner_id from last), owner_position),
          position = coalesce((select id from last), position),
          done_at = case when not exists (select 1 from batch) then now() end,
          updated_at = now()
        where name = ${OWNER_BACKFILL} and exists (select 1 from state)
        returning done_at
      )
      select exists (select 1 from state) as claimed,
        (select count(*) from batch) as conversations,
        (select count(*) from filled) as messages,
        exists (select 1 from moved where done_at is not null) as done`;
  }
}
