import { Injectable } from '@nestjs/common';

import {
  decodeMessagesCursor,
  decodeNewestMessagesCursor,
  encodeCursor,
} from '../common/pagination/cursor';
import { HistoryRepository } from '../history/history.repository';
import { ConversationNotFoundException } from '../history/conversation-not-found.exception';
import { MessageNotFoundException } from '../history/message-not-found.exception';
import { MessagesRepository, PathMessage } from './messages.repository';

/** A page of one path of a conversation, and the leaf it ends at. */
export interface PathPage {
  data: PathMessage[];
  nextCursor: string | null;
  leafId: string | null;
}

@Injectable()
export class MessagesService {
  constructor(
    private readonly messages: MessagesRepository,
    private readonly history: HistoryRepository,
  ) {}

  /**
   * A page of the path root → `leafId` (the conversation's current leaf unless named),
   * oldest first, or newest first with `order: 'desc'` (its cursor goes on towards the
   * root). A named message that is not a leaf reads the path ending at it.
   */
  async listPath(
    ownerId: string,
    conversationId: string,
    query: { limit: number; cursor?: string; leafId?: string; order?: 'asc' | 'desc' },
  ): Promise<PathPage> {
    const { limit, cursor } = query;
    const owned = { ownerId, conversationId, leafId: query.leafId ?? null };
    const newestFirst = query.order === 'desc';
    const rows = newestFirst
      ? await this.messages.newestPage({
          ...owned,
          aboveId: cursor ? decodeNewestMessagesCursor(cursor, conversationId).id : null,
          limit: limit + 1,
        })
      : await this.messages.page({
          ...owned,
          afterSeq: cursor ? decodeMessagesCursor(cursor, conversationId).seq : -1,
          limit: limit + 1,
        });
    let currentLeafId = rows[0]?.currentLeafId;
    // An empty page: the end of a path, or no such conversation, or a named leaf not in it.
    if (rows.length === 0) {
      const check = await this.messages.emptyPage(owned);
      if (!check) throw new ConversationNotFoundException(conversationId);
      if (query.leafId && !check.containsLeaf) throw new MessageNotFoundException(query.leafId);
      currentLeafId = check.currentLeafId;
    }
    const leafId = query.leafId ?? currentLeafId ?? null;
    const data = await this.history.withAttachments(rows.slice(0, limit));
    const last = data.at(-1);
    let nextCursor: string | null = null;
    if (rows.length > limit && last)
      nextCursor = encodeCursor(
        newestFirst
          ? { kind: 'messages-desc', conversationId, id: last.id }
          : { kind: 'messages', conversationId, seq: last.seq },
      );
    return { data, nextCursor, leafId };
  }
}
