import { Injectable } from '@nestjs/common';

import { decodeMessagesCursor, encodeCursor } from '../common/pagination/cursor';
import { Page } from '../common/pagination/page.dto';
import { ConversationsService } from '../conversations/conversations.service';
import type { Message } from './message';
import { MessagesRepository } from './messages.repository';

@Injectable()
export class MessagesService {
  constructor(
    private readonly conversations: ConversationsService,
    private readonly messages: MessagesRepository,
  ) {}

  async list(
    ownerId: string,
    conversationId: string,
    limit: number,
    cursor?: string,
  ): Promise<Page<Message>> {
    const after = cursor ? decodeMessagesCursor(cursor, conversationId) : undefined;
    await this.conversations.get(ownerId, conversationId);
    const rows = await this.messages.listInOrder(conversationId, limit + 1, after?.seq);
    const data = rows.slice(0, limit);
    const last = data.at(-1);
    const nextCursor =
      rows.length > limit && last
        ? encodeCursor({ kind: 'messages', conversationId, seq: last.seq })
        : null;
    return { data, nextCursor };
  }
}
