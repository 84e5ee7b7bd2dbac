import { Readable } from 'node:stream';

import { Injectable } from '@nestjs/common';

import { PrismaService } from '../../database/prisma.service';
import type { Message } from '../../messages/message';
import { toMessageResponse } from '../../messages/message.mapper';
import { toConversationResponse } from '../conversation.mapper';
import { ConversationsService } from '../conversations.service';
import { EXPORT_WRITERS, exportFileName, ExportFormat } from './export-format';

/** Messages read per query while exporting: memory stays flat however long the conversation. */
export const EXPORT_BATCH = 500;

export interface ExportDocument {
  fileName: string;
  contentType: string;
  body: Readable;
}

@Injectable()
export class ConversationExportService {
  constructor(
    private readonly conversations: ConversationsService,
    private readonly prisma: PrismaService,
  ) {}

  /** The conversation as a document, written as it is read (404 before anything is sent). */
  async open(ownerId: string, id: string, format: ExportFormat): Promise<ExportDocument> {
    const conversation = toConversationResponse(await this.conversations.get(ownerId, id));
    const writer = EXPORT_WRITERS[format];
    const conversationId = conversation.id;
    const batches = this.batches(conversationId);
    async function* document(): AsyncGenerator<string> {
      yield writer.head(conversation);
      let first = true;
      for await (const batch of batches) {
        yield writer.messages(batch.map(toMessageResponse), first);
        first = false;
      }
      yield writer.tail();
    }
    return {
      fileName: exportFileName(conversation, writer.extension),
      contentType: writer.contentType,
      body: Readable.from(document(), { objectMode: false }),
    };
  }

  /** Every message in order, a batch per query (keyset on seq). */
  private async *batches(conversationId: string): AsyncGenerator<Message[]> {
    for (let after = -1; ;) {
      const batch = await this.prisma.message.findMany({
        where: { conversationId, seq: { gt: after } },
        orderBy: { seq: 'asc' },
        take: EXPORT_BATCH,
      });
      if (batch.length > 0) yield batch;
      if (batch.length < EXPORT_BATCH) return;
      after = batch[batch.length - 1].seq;
    }
  }
}
