import { Injectable } from '@nestjs/common';
import { sql } from 'kysely';

import { Db } from '../../database/db';
import type { ConversationEventRow } from '../conversation.mapper';
import { CONVERSATION_EVENT_FIELDS } from '../dto/conversation-event.dto';
import type { GeneratedTitle } from './title-prompt';

/** A conversation's new title and topics, as streams announce them. */
export interface ConversationUpdate {
  id: string;
  title: string;
  topics: string[];
}

/** A generated title as stored: for the turn's stream, and for the owner's events. */
export interface TitleWritten {
  update: ConversationUpdate;
  ownerId: string;
  row: ConversationEventRow;
}

@Injectable()
export class TitlesRepository {
  constructor(private readonly db: Db) {}

  async isUntitled(conversationId: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('conversations')
      .select('id')
      .where('id', '=', conversationId)
      .where('title', 'is', null)
      .executeTakeFirst();
    return row !== undefined;
  }

  /**
   * Writes a generated title only while the conversation has none: the condition is in
   * the UPDATE, so a user's title stored meanwhile (POST/PATCH racing the call) wins.
   * Undefined when nothing was written.
   */
  async writeGenerated(
    conversationId: string,
    { title, topics }: GeneratedTitle,
  ): Promise<TitleWritten | undefined> {
    const row = await this.db
      .updateTable('conversations')
      .set({ title, topics, titleSource: 'generated', updatedAt: sql<Date>`now()` })
      .where('id', '=', conversationId)
      .where('title', 'is', null)
      .returning(['ownerId', ...CONVERSATION_EVENT_FIELDS])
      .executeTakeFirst();
    if (!row) return undefined;
    return {
      update: { id: row.id, title: row.title ?? title, topics: row.topics },
      ownerId: row.ownerId,
      row,
    };
  }
}
