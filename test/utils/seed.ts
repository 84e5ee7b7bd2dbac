import { newId } from '../../src/common/ids';
import type { PrismaService } from '../../src/database/prisma.service';

export interface SeededMessage {
  role: 'user' | 'assistant';
  content: string;
  tokenCount?: number;
  status?: 'complete' | 'failed' | 'cancelled';
}

/**
 * Stores messages as one linear path (each follows the one before it), the last one the
 * conversation's current leaf, as turns would have; returns their ids in order.
 */
export async function seedPath(
  prisma: PrismaService,
  conversationId: string,
  messages: SeededMessage[],
): Promise<string[]> {
  const ids = messages.map(() => newId());
  await prisma.message.createMany({
    data: messages.map((message, seq) => ({
      ...message,
      id: ids[seq],
      conversationId,
      parentId: seq === 0 ? null : ids[seq - 1],
      seq,
    })),
  });
  await prisma.conversation.update({
    where: { id: conversationId },
    data: { nextSeq: messages.length, currentLeafId: ids.at(-1) ?? null },
  });
  return ids;
}

/** `count` messages alternating user / assistant, with contents `${prefix}${seq}`. */
export const alternating = (count: number, prefix = 'm', tokenCount?: number): SeededMessage[] =>
  Array.from({ length: count }, (_, seq) => ({
    role: seq % 2 === 0 ? 'user' : 'assistant',
    content: `${prefix}${seq}`,
    tokenCount,
  }));
