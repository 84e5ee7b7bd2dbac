import { Injectable } from '@nestjs/common';
import { sql } from 'kysely';

import { isUniqueViolation } from '../common/errors/database-errors';
import { Db } from '../database/db';
import { Message, MESSAGE_COLUMNS } from '../history/message';
import { messagePath, NO_LIMIT } from '../history/message-path';

/** A stored reply and what a response shows beside it. */
export interface StoredReply extends Message {
  /** The metadata sent with the response (kept on its user message). */
  requestMetadata: unknown;
  /** The reply before its user message on the path, if that is a reply. */
  previousReplyId: string | null;
  systemPrompt: string | null;
  streamMarks: number[];
}

/** A message stored as an input item (no turn): its role, text and token count. */
export interface ItemToStore {
  id: string;
  role: 'user' | 'assistant';
  content: string;
  tokenCount: number;
}

export interface AppendItems {
  ownerId: string;
  conversationId: string;
  /** The message the items go below; null: the conversation's current leaf. */
  parentId: string | null;
  items: ItemToStore[];
}

export type AppendOutcome = 'appended' | 'not_found' | 'busy';
export type DeleteOutcome = 'deleted' | 'not_found' | 'message_not_found' | 'has_replies' | 'busy';

const m = (column: (typeof MESSAGE_COLUMNS)[number]) => `m.${column}` as const;

/**
 * What the Responses door reads and writes beside a turn: replies by id (owner-checked),
 * input items stored without a turn, one message deleted, conversation metadata, and the
 * conversations keyed responses created. A turn itself is ChatService's.
 */
@Injectable()
export class ResponsesRepository {
  constructor(private readonly db: Db) {}

  /** The owner's stored reply `id` (an assistant message), with its request's metadata. */
  async findReply(ownerId: string, id: string): Promise<StoredReply | undefined> {
    const row = await this.db
      .selectFrom('messages as m')
      .innerJoin('conversations as c', 'c.id', 'm.conversationId')
      .leftJoin('messages as u', 'u.id', 'm.parentId')
      .leftJoin('messages as p', (join) =>
        join.onRef('p.id', '=', 'u.parentId').on('p.role', '=', 'assistant'),
      )
      .select(MESSAGE_COLUMNS.map(m))
      .select(['u.metadata as requestMetadata', 'p.id as previousReplyId'])
      .select(['c.systemPrompt', 'm.streamMarks'])
      .where('m.id', '=', id)
      .where('m.role', '=', 'assistant')
      .where('c.ownerId', '=', ownerId)
      .executeTakeFirst();
    return row;
  }

  /**
   * The owner's reply waiting for the output of call `callId` (the newest, should a
   * provider's call ids repeat): how a client that sends the calls back without
   * previous_response_id or item ids (the AI SDK) finds it. Reads only waiting replies, by
   * the owner's partial index.
   */
  async findWaitingForCall(ownerId: string, callId: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('messages as m')
      .innerJoin('conversations as c', 'c.id', 'm.conversationId')
      .select('m.id')
      .where('c.ownerId', '=', ownerId)
      .where('m.status', '=', 'requires_action')
      // messages_waiting_owner_idx; null until the owner_id backfill reaches older rows.
      .where((eb) => eb.or([eb('m.ownerId', '=', ownerId), eb('m.ownerId', 'is', null)]))
      .where(sql<boolean>`m.tool_calls @> ${JSON.stringify([{ id: callId }])}::jsonb`)
      .orderBy('m.createdAt', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row?.id;
  }

  /** The owner's message `id` in `conversationId` (any conversation of theirs when null). */
  async findMessage(
    ownerId: string,
    id: string,
    conversationId: string | null = null,
  ): Promise<Message | undefined> {
    let query = this.db
      .selectFrom('messages as m')
      .innerJoin('conversations as c', 'c.id', 'm.conversationId')
      .select(MESSAGE_COLUMNS.map(m))
      .where('m.id', '=', id)
      .where('c.ownerId', '=', ownerId);
    if (conversationId) query = query.where('m.conversationId', '=', conversationId);
    return query.executeTakeFirst();
  }

  /**
   * The messages a reply's prompt held: the path up to its user message, `count` messages
   * long (what its manifest counted), newest first.
   */
  async promptMessages(conversationId: string, userMessageId: string, count: number) {
    const path = messagePath(this.db, {
      conversationId,
      lastId: userMessageId,
      maxRows: count,
      maxTokens: NO_LIMIT,
      messageOverhead: 0,
    });
    return this.db
      .selectFrom(path.as('path'))
      .innerJoin('messages', 'messages.id', 'path.id')
      .select(['messages.id', 'messages.role', 'messages.content', 'messages.status'])
      .select(['messages.toolCalls', 'messages.toolCallId'])
      .orderBy('path.depth')
      .execute();
  }

  /** The user message holding an Idempotency-Key in a conversation, if any. */
  async findKeyed(conversationId: string, key: string) {
    return this.db
      .selectFrom('messages')
      .select(['id', 'parentId'])
      .where('conversationId', '=', conversationId)
      .where('idempotencyKey', '=', key)
      .executeTakeFirst();
  }

  /**
   * Stores input items as messages below `parentId` (or the current leaf), one after the
   * other, and makes the last the current leaf. Refused while a turn holds the
   * conversation (the turn moves the leaf itself). The row lock orders concurrent appends.
   */
  async appendItems(input: AppendItems): Promise<AppendOutcome> {
    const { ownerId, conversationId, items } = input;
    return this.db.transaction().execute(async (trx) => {
      const conversation = await trx
        .selectFrom('conversations')
        .select(['nextSeq', 'activeTurnId', 'currentLeafId'])
        .where('id', '=', conversationId)
        .where('ownerId', '=', ownerId)
        .forUpdate()
        .executeTakeFirst();
      if (!conversation) return 'not_found';
      if (conversation.activeTurnId) return 'busy';
      let parentId = input.parentId ?? conversation.currentLeafId;
      const rows = items.map((item, index) => {
        const row = {
          ...item,
          conversationId,
          ownerId,
          parentId,
          seq: conversation.nextSeq + index,
          status: 'complete' as const,
          createdAt: sql<Date>`clock_timestamp()`,
          completedAt: sql<Date>`clock_timestamp()`,
        };
        parentId = item.id;
        return row;
      });
      await trx.insertInto('messages').values(rows).execute();
      await trx
        .updateTable('conversations')
        .set({
          nextSeq: conversation.nextSeq + items.length,
          currentLeafId: parentId,
          lastMessageAt: sql`now()`,
          updatedAt: sql`now()`,
        })
        .where('id', '=', conversationId)
        .execute();
      return 'appended';
    });
  }

  /**
   * Deletes one message that nothing follows (the end of a branch); the current leaf moves
   * to its parent when it was the leaf. Refused while a turn holds the conversation.
   */
  async deleteMessage(ownerId: string, conversationId: string, id: string): Promise<DeleteOutcome> {
    return this.db.transaction().execute(async (trx) => {
      const conversation = await trx
        .selectFrom('conversations')
        .select(['activeTurnId', 'currentLeafId'])
        .where('id', '=', conversationId)
        .where('ownerId', '=', ownerId)
        .forUpdate()
        .executeTakeFirst();
      if (!conversation) return 'not_found';
      if (conversation.activeTurnId) return 'busy';
      const message = await trx
        .selectFrom('messages')
        .select(['id', 'parentId'])
        .select((eb) =>
          eb
            .exists(
              eb
                .selectFrom('messages as r')
                .select('r.id')
                .whereRef('r.parentId', '=', 'messages.id'),
            )
            .as('hasReplies'),
        )
        .where('id', '=', id)
        .where('conversationId', '=', conversationId)
        .executeTakeFirst();
      if (!message) return 'message_not_found';
      if (message.hasReplies) return 'has_replies';
      if (conversation.currentLeafId === id)
        await trx
          .updateTable('conversations')
          .set({ currentLeafId: message.parentId, updatedAt: sql`now()` })
          .where('id', '=', conversationId)
          .execute();
      await trx.deleteFrom('messages').where('id', '=', id).execute();
      return 'deleted';
    });
  }

  async setMetadata(
    ownerId: string,
    conversationId: string,
    metadata: Record<string, string> | null,
  ) {
    return this.db
      .updateTable('conversations')
      .set({ metadata, updatedAt: sql`now()` })
      .where('id', '=', conversationId)
      .where('ownerId', '=', ownerId)
      .returning(['id', 'createdAt', 'metadata'])
      .executeTakeFirst();
  }

  /** The conversation a keyed response of this owner created, if any. */
  async findKeyedConversation(ownerId: string, key: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('responseKeys')
      .select('conversationId')
      .where('ownerId', '=', ownerId)
      .where('key', '=', key)
      .executeTakeFirst();
    return row?.conversationId;
  }

  /** Records that the key created `conversationId`; returns the conversation the key names now. */
  async recordKey(ownerId: string, key: string, conversationId: string): Promise<string> {
    try {
      await this.db.insertInto('responseKeys').values({ ownerId, key, conversationId }).execute();
      return conversationId;
    } catch (error) {
      if (!isUniqueViolation(error, 'response_keys_pkey')) throw error;
      return (await this.findKeyedConversation(ownerId, key)) ?? conversationId;
    }
  }
}
