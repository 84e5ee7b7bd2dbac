import { Injectable } from '@nestjs/common';

import { Db } from '../../database/db';
import { Message, MESSAGE_COLUMNS } from '../../history/message';
import { messagePath, NO_LIMIT } from '../../history/message-path';

/** The reads of an export: pages in seq order, so memory stays flat however long the history. */
@Injectable()
export class ConversationExportRepository {
  constructor(private readonly db: Db) {}

  /** Messages of every branch after seq `afterSeq`, in seq order, at most `limit` (keyset on seq). */
  pageOfMessages(conversationId: string, afterSeq: number, limit: number): Promise<Message[]> {
    return this.db
      .selectFrom('messages')
      .select(MESSAGE_COLUMNS)
      .where('conversationId', '=', conversationId)
      .where('seq', '>', afterSeq)
      .orderBy('seq')
      .limit(limit)
      .execute();
  }

  /** Messages of the path root → `leafId` after seq `afterSeq` (seq grows along a path). */
  pageOfPath(
    conversationId: string,
    leafId: string,
    afterSeq: number,
    limit: number,
  ): Promise<Message[]> {
    const path = messagePath(this.db, {
      conversationId,
      lastId: leafId,
      afterSeq,
      messageOverhead: 0,
      maxRows: NO_LIMIT,
      maxTokens: NO_LIMIT,
    });
    return this.db
      .selectFrom(path.as('path'))
      .innerJoin('messages', 'messages.id', 'path.id')
      .select(MESSAGE_COLUMNS.map((column) => `messages.${column}` as const))
      .orderBy('messages.seq')
      .limit(limit)
      .execute();
  }
}
