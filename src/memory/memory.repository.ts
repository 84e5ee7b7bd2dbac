import { Injectable } from '@nestjs/common';
import { sql } from 'kysely';

import { holderAlive } from '../cluster/processes.repository';
import { Db } from '../database/db';
import { messagePath, NO_LIMIT } from '../history/message-path';
import type { MemoryMark, WindowMessage } from '../history/memory-mark';

export interface NewSummary {
  conversationId: string;
  /** The last message the summary covers. */
  messageId: string;
  /** The end of the path the summary was written for. */
  lastId: string | null;
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

  /**
   * The newest mark of any kind on the path ending at `lastId` before seq `beforeSeq`: what
   * a new summary builds on. The walk stops at it.
   */
  async newestMark(
    conversationId: string,
    lastId: string | null,
    beforeSeq: number,
  ): Promise<MemoryMark | undefined> {
    const path = messagePath(this.db, {
      ...{ conversationId, lastId, maxRows: NO_LIMIT, maxTokens: NO_LIMIT, messageOverhead: 0 },
      stopAfter: (id) =>
        sql<boolean>`exists (select 1 from memory_marks mm where mm.message_id = ${id}
          and mm.seq < ${beforeSeq}::int)`,
    });
    const row = await this.db
      .selectFrom(path.as('path'))
      .innerJoin('memoryMarks as mm', 'mm.messageId', 'path.id')
      .select(MARK_COLUMNS.map((c) => `mm.${c}` as const))
      .where('mm.seq', '<', beforeSeq)
      .orderBy('path.depth')
      .limit(1)
      .executeTakeFirst();
    return row && { ...row, kind: row.kind === 'reset' ? 'reset' : 'summary' };
  }

  /**
   * The complete messages of the path ending at `lastId` between two seqs (exclusive),
   * oldest first, at most `limit`. The walk stops at `afterSeq` (the mark).
   */
  async messagesOnPath(
    conversationId: string,
    lastId: string | null,
    between: { afterSeq: number; beforeSeq: number },
    limit: number,
  ): Promise<WindowMessage[]> {
    const { afterSeq, beforeSeq } = between;
    const path = messagePath(this.db, {
      ...{ conversationId, lastId, maxRows: NO_LIMIT, maxTokens: NO_LIMIT, messageOverhead: 0 },
      afterSeq,
      content: true,
    });
    return this.db
      .selectFrom(path.as('path'))
      .select(['path.id', 'path.seq', 'path.role', 'path.content', 'path.tokenCount'])
      .where('path.status', '=', 'complete')
      .where('path.seq', '<', beforeSeq)
      .orderBy('path.seq')
      .limit(limit)
      .execute();
  }

  /**
   * Stores a summary unless a newer mark on its path exists by now (a reset or another
   * job's summary that went further): a summary never lands behind the memory's position.
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
            not(exists(this.marksAfter(conversationId, summary.lastId, seq))),
          ),
      )
      .onConflict((oc) => oc.column('messageId').doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  /** The marks on the path ending at `lastId` after seq `seq` (the walk stops there). */
  private marksAfter(conversationId: string, lastId: string | null, seq: number) {
    const path = messagePath(this.db, {
      ...{ conversationId, lastId, maxRows: NO_LIMIT, maxTokens: NO_LIMIT, messageOverhead: 0 },
      afterSeq: seq,
    });
    return this.db
      .selectFrom(path.as('path'))
      .innerJoin('memoryMarks as mm', 'mm.messageId', 'path.id')
      .select('mm.messageId');
  }

  /**
   * Starts the memory afresh after the conversation's current leaf (a reset mark on
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
        .selectFrom('conversations as c')
        .innerJoin('messages as m', 'm.id', 'c.currentLeafId')
        .select(['m.id', 'm.conversationId', 'm.seq', sql<string>`'reset'`.as('kind')])
        .where('c.id', '=', conversationId);
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
