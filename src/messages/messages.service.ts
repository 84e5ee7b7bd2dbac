import { Injectable } from '@nestjs/common';

import { decodeMessagesCursor, encodeCursor } from '../common/pagination/cursor';
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
  constructor(private readonly messages: MessagesRepository) {}

  /**
   * A page of the path root → `leafId` (the conversation's current leaf unless named),
   * oldest first. A named message that is not a leaf reads the path ending at it.
   */
  async listPath(
    ownerId: string,
    conversationId: string,
    query: { limit: number; cursor?: string; leafId?: string },
  ): Promise<PathPage> {
    const { limit, cursor } = query;
    const after = cursor ? decodeMessagesCursor(cursor, conversationId) : undefined;
    const owned = { ownerId, conversationId, leafId: query.leafId ?? null };
    const rows = await this.messages.page({
      ...owned,
      afterSeq: after?.seq ?? -1,
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
    const data = rows.slice(0, limit);
    const last = data.at(-1);
    const nextCursor =
      rows.length > limit && last
        ? encodeCursor({ kind: 'messages', conversationId, seq: last.seq })
        : null;
    return { data, nextCursor, leafId };
  }
}
