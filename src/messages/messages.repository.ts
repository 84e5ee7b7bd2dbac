import { Injectable } from '@nestjs/common';
import { sql } from 'kysely';

import { Db } from '../database/db';
import { Message, MESSAGE_COLUMNS } from './message';
import { messagePath, NO_LIMIT } from './message-path';

/** A message on a path, with the siblings a reader can switch to (its own id among them). */
export interface PathMessage extends Message {
  /** Ids of the messages sharing its parent (itself included), oldest first. */
  siblingIds: string[];
}

/** The read side of messages: typed SQL on the Db (hot reads). */
@Injectable()
export class MessagesRepository {
  constructor(private readonly db: Db) {}

  /** The owner's conversation's current leaf; undefined when there is no such conversation. */
  findCurrentLeaf(
    ownerId: string,
    conversationId: string,
  ): Promise<{ currentLeafId: string | null } | undefined> {
    return this.db
      .selectFrom('conversations')
      .select('currentLeafId')
      .where('id', '=', conversationId)
      .where('ownerId', '=', ownerId)
      .executeTakeFirst();
  }

  async contains(conversationId: string, messageId: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('messages')
      .select('id')
      .where('id', '=', messageId)
      .where('conversationId', '=', conversationId)
      .executeTakeFirst();
    return row !== undefined;
  }

  /**
   * One page of the path ending at `lastId`, oldest first: its messages after seq
   * `afterSeq` (seq grows along a path), at most `limit`. The walk goes from the leaf up to
   * the cursor, so a page costs the path below the cursor; sibling ids are read for the
   * page's messages only, through the (conversation, parent, seq) index.
   */
  async pathPage(
    conversationId: string,
    lastId: string | null,
    limit: number,
    afterSeq = -1,
  ): Promise<PathMessage[]> {
    const path = messagePath(this.db, {
      conversationId,
      lastId,
      afterSeq,
      maxRows: NO_LIMIT,
      maxTokens: NO_LIMIT,
      messageOverhead: 0,
    });
    const page = this.db
      .selectFrom(path.as('path'))
      .innerJoin('messages', 'messages.id', 'path.id')
      .select(MESSAGE_COLUMNS.map((column) => `messages.${column}` as const))
      .orderBy('messages.seq')
      .limit(limit);
    // Two plain lookups on the (parent, conversation) index, never one OR a planner may scan
    // instead; a parent id names one conversation already, roots need the conversation.
    const siblings = (parent: 'root' | 'child') =>
      sql<string[] | null>`(select array_agg(s.id::text order by s.seq) from messages s where ${
        parent === 'root'
          ? sql`s.parent_id is null and s.conversation_id = ${conversationId}`
          : sql`s.parent_id = page.parent_id`
      })`;
    return this.db
      .selectFrom(page.as('page'))
      .selectAll('page')
      .select(
        sql<string[]>`case when page.parent_id is null then ${siblings('root')}
          else ${siblings('child')} end`.as('siblingIds'),
      )
      .orderBy('page.seq')
      .execute();
  }
}
