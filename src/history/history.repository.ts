import { Injectable } from '@nestjs/common';

import { Db } from '../database/db';
import { GenerateSql } from '../database/generate-sql';
import { preparedQuery } from '../database/prepared-query';
import type { HistoryWindow } from '../prompts/prompt-manager';
import { memoryMarkOf, readWindow, windowColumns, windowMessagesOf } from './history-window';
import type { ReadWindow } from './memory-mark';

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

  @GenerateSql()
  private buildPreview({ conversationId, lastId, window }: PreviewWindow) {
    return this.db
      .with('mark', () => memoryMarkOf(this.db, conversationId, lastId, window))
      .with('kept', () => windowMessagesOf(this.db, conversationId, lastId, window))
      .selectNoFrom(() => windowColumns(this.db));
  }
}
