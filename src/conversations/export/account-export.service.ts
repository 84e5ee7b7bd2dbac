import { Readable } from 'node:stream';

import { Injectable } from '@nestjs/common';

import { Conversation, toConversationResponse } from '../conversation.mapper';
import { ConversationExportRepository } from './conversation-export.repository';
import {
  assertIncludable,
  ConversationExportService,
  ExportDocument,
  ExportOptions,
} from './conversation-export.service';
import { filesSection } from './export-files';
import { keysetPages } from './keyset-pages';
import { ACCOUNT_WRITERS, accountExportFileName, EXPORT_WRITERS } from './export-format';

/** Conversations (and attached file ids) read per query: a page's rows live while it is sent. */
export const ACCOUNT_EXPORT_PAGE = 100;

/**
 * Everything an owner has, as one document written as it is read: each conversation exactly
 * as its own export writes it (ConversationExportService.conversationChunks), archived ones
 * too. Memory holds a page of conversations and a batch of messages, never the account.
 */
@Injectable()
export class AccountExportService {
  constructor(
    private readonly exports: ConversationExportService,
    private readonly repository: ConversationExportRepository,
  ) {}

  open(ownerId: string, options: ExportOptions): ExportDocument {
    assertIncludable(options);
    const { format } = options;
    const exportedAt = new Date().toISOString();
    const account = ACCOUNT_WRITERS[format];
    const conversations = this.allConversations(ownerId);
    const chunks = (conversation: Conversation) =>
      this.exports.conversationChunks(toConversationResponse(conversation), format);
    // Each file once for the whole account, read after the conversations by its own pages.
    const embedded = options.files
      ? () => this.exports.embeddedFiles(ownerId, this.attachedFiles(ownerId))
      : null;
    async function* document(): AsyncGenerator<string> {
      yield account.head(exportedAt);
      let first = true;
      for await (const page of conversations) {
        for (const conversation of page) {
          yield account.startConversation(first);
          yield* chunks(conversation);
          yield account.endConversation();
          first = false;
        }
      }
      yield account.endConversations();
      if (embedded) yield* filesSection(embedded());
      yield account.tail();
    }
    const writer = EXPORT_WRITERS[format];
    return {
      fileName: accountExportFileName(exportedAt, writer.extension),
      contentType: writer.contentType,
      body: Readable.from(document(), { objectMode: false }),
    };
  }

  /** The owner's conversations in id order, a page per query (keyset on id). */
  private allConversations(ownerId: string): AsyncGenerator<Conversation[]> {
    const read = (after: string | null) =>
      this.repository.pageOfConversations(ownerId, after, ACCOUNT_EXPORT_PAGE);
    return keysetPages<Conversation, string | null>(null, ACCOUNT_EXPORT_PAGE, read, (c) => c.id);
  }

  /** The ids of the owner's files that messages carry, a page per query. */
  private async *attachedFiles(ownerId: string): AsyncGenerator<string> {
    const read = (after: string | null) =>
      this.repository.pageOfAttachedFiles(ownerId, after, ACCOUNT_EXPORT_PAGE);
    const pages = keysetPages<string, string | null>(null, ACCOUNT_EXPORT_PAGE, read, (id) => id);
    for await (const ids of pages) yield* ids;
  }
}
