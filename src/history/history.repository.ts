import { Injectable } from '@nestjs/common';

import { Db } from '../database/db';
import { GenerateSql } from '../database/generate-sql';
import { preparedQuery } from '../database/prepared-query';
import type { HistoryWindow } from '../prompts/prompt-manager';
import { memoryMarkOf, readWindow, windowColumns, windowMessagesOf } from './history-window';
import type { ReadWindow } from './memory-mark';
import type { Message, MessageAttachment } from './message';

interface PreviewWindow {
  conversationId: string;
  lastId: string | null;
  window: HistoryWindow;
}

/** Reads of a conversation's stored tree that more than one room needs. */
@Injectable()
export class HistoryRepository {
  private readonly previewQuery;

  constructor(private readonly db: Db) {
    this.previewQuery = preparedQuery(db, (input: PreviewWindow) => this.buildPreview(input));
  }

  /** The window the next turn would read (GET …/context): the same SQL as a turn's begin. */
  async previewWindow(
    conversationId: string,
    lastId: string | null,
    window: HistoryWindow,
  ): Promise<ReadWindow> {
    const [row] = await this.previewQuery({ conversationId, lastId, window });
    return readWindow(row.history, row.mark, row.read);
  }

  /** The files each message carries, in order: one query for a page of messages. */
  async attachmentsOf(messageIds: string[]): Promise<Map<string, MessageAttachment[]>> {
    const byMessage = new Map<string, MessageAttachment[]>();
    if (messageIds.length === 0) return byMessage;
    const rows = await this.db
      .selectFrom('messageAttachments as ma')
      .innerJoin('files as f', 'f.id', 'ma.fileId')
      .innerJoin('fileBlobs as b', 'b.id', 'f.blobId')
      .select(['ma.messageId', 'f.id', 'f.filename', 'b.mimeType', 'b.bytes', 'b.kind'])
      .where('ma.messageId', 'in', messageIds)
      .orderBy('ma.messageId')
      .orderBy('ma.position')
      .execute();
    for (const { messageId, bytes, kind, ...file } of rows) {
      const list = byMessage.get(messageId) ?? [];
      list.push({ ...file, bytes: Number(bytes), kind: kind === 'image' ? 'image' : 'document' });
      byMessage.set(messageId, list);
    }
    return byMessage;
  }

  /** The messages with the files each carries (see attachmentsOf). */
  async withAttachments<M extends Message>(messages: M[]): Promise<M[]> {
    const carried = await this.attachmentsOf(
      messages.filter((m) => m.role === 'user').map((m) => m.id),
    );
    return messages.map((m) => ({ ...m, attachments: carried.get(m.id) ?? [] }));
  }

  @GenerateSql()
  private buildPreview({ conversationId, lastId, window }: PreviewWindow) {
    return this.db
      .with('mark', () => memoryMarkOf(this.db, conversationId, lastId, window))
      .with('kept', () => windowMessagesOf(this.db, conversationId, lastId, window))
      .selectNoFrom(() => windowColumns(this.db));
  }
}
