import { Injectable } from '@nestjs/common';
import { sql } from 'kysely';

import { holderAlive } from '../chat/turns.repository';
import { Db } from '../database/db';
import type { MemoryMark, WindowMessage } from './memory-mark';

export interface NewSummary {
  conversationId: string;
  /** The last message the summary covers. */
  messageId: string;
  seq: number;
  content: string;
  tokenCount: number;
  summarizedCount: number;
  model: string;
}

export type ResetOutcome = 'reset' | 'not_found' | 'busy';

const MARK_COLUMNS = [
  'messageId',
  'seq',
  'kind',
  'content',
  'tokenCount',
  'summarizedCount',
] as const;

/**
 * The memory marks (summaries and resets) of conversations, and the lease that lets one
 * summary job at a time work on a conversation, across replicas. Nothing here runs per
 * turn: the turn reads its mark inside its own statement (TurnsRepository).
 */
@Injectable()
export class MemoryRepository {
  constructor(private readonly db: Db) {}

  /**
   * Takes the conversation for a summary job unless another job holds it (a conditional
   * UPDATE: concurrent takers serialise on the row and one wins). A lease outlives a dead
   * holder by at most `leaseMs`.
   */
  async takeLease(conversationId: string, leaseMs: number): Promise<boolean> {
    const row = await this.db
      .updateTable('conversations')
      .set({ summaryLeaseUntil: sql<Date>`now() + ${leaseMs} * interval '1 millisecond'` })
      .where('id', '=', conversationId)
      .where((eb) =>
        eb.or([
          eb('summaryLeaseUntil', 'is', null),
          eb('summaryLeaseUntil', '<', sql<Date>`now()`),
        ]),
      )
      .returning('id')
      .executeTakeFirst();
    return row !== undefined;
  }

  async releaseLease(conversationId: string): Promise<void> {
    await this.db
      .updateTable('conversations')
      .set({ summaryLeaseUntil: null })
      .where('id', '=', conversationId)
      .execute();
  }

  /** The newest mark before seq `before`, whatever its kind: what a new summary builds on. */
  async newestMark(conversationId: string, before: number): Promise<MemoryMark | undefined> {
    const row = await this.db
      .selectFrom('memoryMarks')
      .select(MARK_COLUMNS)
      .where('conversationId', '=', conversationId)
      .where('seq', '<', before)
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row && { ...row, kind: row.kind === 'reset' ? 'reset' : 'summary' };
  }

  /** The complete messages between two seqs (exclusive), oldest first, at most `limit`. */
  async messagesBetween(
    conversationId: string,
    afterSeq: number,
    beforeSeq: number,
    limit: number,
  ): Promise<WindowMessage[]> {
    return this.db
      .selectFrom('messages')
      .select(['id', 'seq', 'role', 'content', 'tokenCount'])
      .where('conversationId', '=', conversationId)
      .where('status', '=', 'complete')
      .where('seq', '>', afterSeq)
      .where('seq', '<', beforeSeq)
      .orderBy('seq')
      .limit(limit)
      .execute();
  }

  /**
   * Stores a summary unless a newer mark exists by now (a reset or another job's summary
   * that went further): a summary never lands behind the memory's current position.
   */
  async storeSummary(summary: NewSummary): Promise<boolean> {
    const { conversationId, seq } = summary;
    const result = await this.db
      .insertInto('memoryMarks')
      .columns([
        'messageId',
        'conversationId',
        'seq',
        'kind',
        'content',
        'tokenCount',
        'summarizedCount',
        'model',
      ])
      .expression(
        this.db
          .selectNoFrom([
            sql<string>`${summary.messageId}::uuid`.as('messageId'),
            sql<string>`${conversationId}::uuid`.as('conversationId'),
            sql<number>`${seq}::int`.as('seq'),
            sql<string>`'summary'`.as('kind'),
            sql<string>`${summary.content}::text`.as('content'),
            sql<number>`${summary.tokenCount}::int`.as('tokenCount'),
            sql<number>`${summary.summarizedCount}::int`.as('summarizedCount'),
            sql<string>`${summary.model}::varchar`.as('model'),
          ])
          .where(({ not, exists }) =>
            not(
              exists(
                this.db
                  .selectFrom('memoryMarks')
                  .select('messageId')
                  .where('conversationId', '=', conversationId)
                  .where('seq', '>=', seq),
              ),
            ),
          ),
      )
      .onConflict((oc) => oc.column('messageId').doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  /**
   * Starts the memory afresh after the conversation's newest message (a reset mark on
   * it), unless a turn is running: the row lock orders it with claims, so a turn claimed
   * after it reads the mark. Nothing to forget in an empty conversation.
   */
  async reset(ownerId: string, conversationId: string, deadAfterMs: number): Promise<ResetOutcome> {
    return this.db.transaction().execute(async (trx) => {
      const conversation = await trx
        .selectFrom('conversations as c')
        .select((eb) =>
          eb.or([eb('c.activeTurnId', 'is', null), eb.not(holderAlive(deadAfterMs))]).as('free'),
        )
        .where('c.id', '=', conversationId)
        .where('c.ownerId', '=', ownerId)
        .forUpdate()
        .executeTakeFirst();
      if (!conversation) return 'not_found';
      if (!conversation.free) return 'busy';
      const newest = trx
        .selectFrom('messages')
        .select(['id', 'conversationId', 'seq', sql<string>`'reset'`.as('kind')])
        .where('conversationId', '=', conversationId)
        .orderBy('seq', 'desc')
        .limit(1);
      await trx
        .insertInto('memoryMarks')
        .columns(['messageId', 'conversationId', 'seq', 'kind'])
        .expression(newest)
        .onConflict((oc) =>
          oc.column('messageId').doUpdateSet({
            kind: 'reset',
            content: '',
            tokenCount: 0,
            summarizedCount: 0,
          }),
        )
        .execute();
      return 'reset';
    });
  }

  /** A message's stored manifest; undefined when the conversation has no such message. */
  async findContext(
    conversationId: string,
    messageId: string,
  ): Promise<{ context: unknown } | undefined> {
    return this.db
      .selectFrom('messages')
      .select('context')
      .where('id', '=', messageId)
      .where('conversationId', '=', conversationId)
      .executeTakeFirst();
  }
}
