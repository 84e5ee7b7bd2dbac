import { Readable } from 'node:stream';

import { Injectable } from '@nestjs/common';

import { ValidationFailedException } from '../../common/errors/app.exception';
import { FileNotFoundException, FilesService } from '../../files';
import { HistoryRepository } from '../../history/history.repository';
import type { Message } from '../../history/message';
import { toMessageResponse } from '../../messages';
import { toConversationResponse } from '../conversation.mapper';
import type { ConversationResponseDto } from '../dto/conversation-response.dto';
import { ConversationsService } from '../conversations.service';
import { ConversationExportRepository } from './conversation-export.repository';
import { EmbeddedFile, filesSection } from './export-files';
import { keysetPages } from './keyset-pages';
import { EXPORT_WRITERS, exportFileName, ExportFormat } from './export-format';

/**
 * Messages read per query while exporting every branch (json): memory holds a batch however
 * long the conversation. Small, because a batch lives while it is sent: what outlives a
 * young-generation GC or two is promoted, and promoted garbage piles up until a full GC.
 * (A service's first long export grows its RSS all the same, by up to ~30 MB, as V8 sizes
 * its young generation; the live heap does not grow: docs/scale.md.)
 */
export const EXPORT_BATCH = 100;
/**
 * The current path's batch (markdown): each query walks the path from its leaf, so fewer,
 * bigger batches.
 */
export const PATH_EXPORT_BATCH = 500;

export interface ExportDocument {
  fileName: string;
  contentType: string;
  body: Readable;
}

/** What an export holds beyond its messages: `files` embeds the attached files (json only). */
export interface ExportOptions {
  format: ExportFormat;
  files: boolean;
}

/** include=files embeds bytes in json only (markdown lists each message's files). */
export function assertIncludable(options: ExportOptions): void {
  if (options.files && options.format !== 'json')
    throw new ValidationFailedException([
      {
        field: 'include',
        errors: ['include=files embeds the files in the json export; markdown lists them'],
      },
    ]);
}

@Injectable()
export class ConversationExportService {
  constructor(
    private readonly conversations: ConversationsService,
    private readonly exports: ConversationExportRepository,
    private readonly history: HistoryRepository,
    private readonly files: FilesService,
  ) {}

  /** The conversation as a document, written as it is read (404 before anything is sent). */
  async open(ownerId: string, id: string, options: ExportOptions): Promise<ExportDocument> {
    assertIncludable(options);
    const conversation = toConversationResponse(await this.conversations.get(ownerId, id));
    const writer = EXPORT_WRITERS[options.format];
    const attached = new Set<string>();
    const chunks = this.conversationChunks(conversation, options.format, attached);
    const embedded = options.files ? () => this.embeddedFiles(ownerId, attached) : null;
    async function* document(): AsyncGenerator<string> {
      yield* chunks;
      if (embedded) yield* filesSection(embedded());
      yield writer.tail();
    }
    return {
      fileName: exportFileName(conversation, writer.extension),
      contentType: writer.contentType,
      body: Readable.from(document(), { objectMode: false }),
    };
  }

  /**
   * One conversation's document up to its tail, as both exports write it: json the whole
   * tree (each message names its parentId), markdown what a reader sees (the current path).
   * The ids of the files its messages carry are added to `attached`.
   */
  async *conversationChunks(
    conversation: ConversationResponseDto,
    format: ExportFormat,
    attached?: Set<string>,
  ): AsyncGenerator<string> {
    const writer = EXPORT_WRITERS[format];
    const batches =
      format === 'json'
        ? this.allMessages(conversation.id)
        : this.currentPath(conversation.id, conversation.currentLeafId);
    yield writer.head(conversation);
    let first = true;
    // A chunk per message: a batch joined into one string can pass V8's large-object size
    // (~128 KB), and large objects stay until a full GC.
    for await (const batch of batches) {
      for (const message of batch) {
        for (const file of message.attachments ?? []) attached?.add(file.id);
        yield writer.messages([toMessageResponse(message)], first);
        first = false;
      }
    }
    yield writer.endMessages();
  }

  /** Each file with its bytes as a stream (one open at a time); a deleted one is left out. */
  async *embeddedFiles(
    ownerId: string,
    ids: Iterable<string> | AsyncIterable<string>,
  ): AsyncGenerator<EmbeddedFile> {
    for await (const id of ids) {
      const opened = await this.files.open(ownerId, id).catch((error: unknown) => {
        if (error instanceof FileNotFoundException) return null;
        throw error;
      });
      if (!opened) continue;
      try {
        yield { file: opened.file, content: opened.content };
      } finally {
        opened.content.destroy();
      }
    }
  }

  /** Every message of every branch in seq order, a batch per query (keyset on seq). */
  private async *allMessages(conversationId: string): AsyncGenerator<Message[]> {
    const read = (after: number) =>
      this.exports.pageOfMessages(conversationId, after, EXPORT_BATCH);
    for await (const batch of keysetPages(-1, EXPORT_BATCH, read, (m) => m.seq))
      yield await this.history.withAttachments(batch);
  }

  /** The path root → current leaf, a batch per query (seq grows along a path). */
  private async *currentPath(
    conversationId: string,
    leafId: string | null,
  ): AsyncGenerator<Message[]> {
    if (leafId === null) return;
    const read = (afterSeq: number) =>
      this.exports.pageOfPath(conversationId, leafId, afterSeq, PATH_EXPORT_BATCH);
    for await (const batch of keysetPages(-1, PATH_EXPORT_BATCH, read, (m) => m.seq))
      yield await this.history.withAttachments(batch);
  }
}
