import { Injectable } from '@nestjs/common';

import { Db } from '../../database/db';
import { Message, MESSAGE_COLUMNS } from '../../history/message';
import { messagePath, NO_LIMIT } from '../../history/message-path';
import type { Conversation } from '../conversation.mapper';

/** The reads of an export: pages in seq order, so memory stays flat however long the history. */
@Injectable()
export class ConversationExportRepository {
  constructor(private readonly db: Db) {}

  /**
   * The owner's conversations after `afterId` in id (creation) order, archived ones too, at
   * most `limit`: keyset on conversations_owner_id_idx.
   */
  pageOfConversations(
    ownerId: string,
    afterId: string | null,
    limit: number,
  ): Promise<Conversation[]> {
    let query = this.db.selectFrom('conversations').selectAll().where('ownerId', '=', ownerId);
    if (afterId !== null) query = query.where('id', '>', afterId);
    return query.orderBy('id').limit(limit).execute();
  }

  /**
   * The owner's files that some message carries, after `afterId` in id order, at most
   * `limit` (files_owner_list_idx, and message_attachments_file_idx for each): a message
   * carries only its owner's files, so these are the files of all the owner's conversations.
   */
  async pageOfAttachedFiles(
    ownerId: string,
    afterId: string | null,
    limit: number,
  ): Promise<string[]> {
    let query = this.db
      .selectFrom('files')
      .select('id')
      .where('ownerId', '=', ownerId)
      .where((eb) =>
        eb.exists(
          eb
            .selectFrom('messageAttachments')
            .select('messageId')
            .whereRef('messageAttachments.fileId', '=', 'files.id'),
        ),
      );
    if (afterId !== null) query = query.where('id', '>', afterId);
    const rows = await query.orderBy('id').limit(limit).execute();
    return rows.map((row) => row.id);
  }

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
