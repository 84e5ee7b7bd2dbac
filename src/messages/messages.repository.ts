import { Injectable } from '@nestjs/common';

import type { Message } from './message';
import { PrismaService } from '../database/prisma.service';

@Injectable()
export class MessagesRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Oldest first, keyset on seq; served by the (conversation_id, seq) unique index. */
  listInOrder(conversationId: string, limit: number, afterSeq?: number): Promise<Message[]> {
    return this.prisma.message.findMany({
      where: { conversationId, ...(afterSeq !== undefined && { seq: { gt: afterSeq } }) },
      orderBy: { seq: 'asc' },
      take: limit,
    });
  }
}
