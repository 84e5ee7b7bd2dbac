import { Injectable } from '@nestjs/common';

import { decodeMessagesCursor, encodeCursor } from '../common/pagination/cursor';
import { ConversationNotFoundException } from '../conversations/conversation-not-found.exception';
import { MessageNotFoundException } from './message-not-found.exception';
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
    const conversation = await this.messages.findCurrentLeaf(ownerId, conversationId);
    if (!conversation) throw new ConversationNotFoundException(conversationId);
    const leafId = query.leafId ?? conversation.currentLeafId;
    const rows = await this.messages.pathPage(conversationId, leafId, limit + 1, after?.seq);
    // An empty page is the end of a path, or a named leaf that is not in this conversation.
    if (
      rows.length === 0 &&
      query.leafId &&
      !(await this.messages.contains(conversationId, query.leafId))
    )
      throw new MessageNotFoundException(query.leafId);
    const data = rows.slice(0, limit);
    const last = data.at(-1);
    const nextCursor =
      rows.length > limit && last
        ? encodeCursor({ kind: 'messages', conversationId, seq: last.seq })
        : null;
    return { data, nextCursor, leafId };
  }
}
