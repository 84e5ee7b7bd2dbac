import { Injectable } from '@nestjs/common';

import { chatImage, MAX_ATTACHMENTS, withDocuments } from '../chat';
import { ValidationFailedException } from '../common/errors/app.exception';
import type { AttachableFile, FileRef } from '../files';
import {
  FilesService,
  imageTokens,
  inlineFilename,
  inlineImageTokens,
  parseDataUrl,
  UNKNOWN_IMAGE_TOKENS,
} from '../files';
import type { ResolvedModel } from '../llm/llm.service';
import { LlmService } from '../llm/llm.service';
import type { ChatImage } from '../llm/llm.types';
import {
  type ChatCompletionMessageDto,
  type FilePart,
  IMAGE_DATA_URL,
  type MessageContent,
} from './dto/chat-completion-request.dto';

/** An image or file part of a user message: an image sent inline, or a file it names. */
type PartFile = { image: ChatImage } | { ref: FileRef; field: string; asImage: boolean };

/** What one user message carries, as the provider gets it: its text with documents, images. */
export interface CarriedFiles {
  content: string;
  images: ChatImage[];
}

/** The files of a request's user messages, by message index, and the inline ones stored now. */
export interface RequestFiles {
  carried: Map<number, CarriedFiles>;
  stored: string[];
  /** What the images cost in the prompt, inline ones too (a document's text is counted as text). */
  imageTokens: number;
}

const NO_FILES: RequestFiles = { carried: new Map(), stored: [], imageTokens: 0 };

function tokensOf(files: AttachableFile[]): number {
  return files
    .filter((file) => file.kind === 'image')
    .reduce(
      (sum, f) =>
        sum + (f.width && f.height ? imageTokens(f.width, f.height) : UNKNOWN_IMAGE_TOKENS),
      0,
    );
}

function invalid(field: string, problem: string): ValidationFailedException {
  return new ValidationFailedException([{ field, errors: [problem] }]);
}

/** A file part's file: by id, or inline (file_data, a base64 data URL) with its name. */
function fileRefOf(file: FilePart['file'], field: string): FileRef {
  if (file.file_id !== undefined) return { kind: 'id', fileId: file.file_id };
  const inline = parseDataUrl(file.file_data ?? '');
  if (!inline)
    throw invalid(
      `${field}.file_data`,
      'file_data must be a base64 data URL (data:<media type>;base64,<bytes>); or upload the file with POST /v1/files and send its file_id',
    );
  return {
    kind: 'data',
    ...inline,
    filename: inlineFilename(file.filename, inline.mimeType, 'file'),
  };
}

/** A user message's image and file parts, in order (the DTO validated their shapes). */
function partFiles(content: MessageContent | null | undefined, field: string): PartFile[] {
  if (content == null || typeof content === 'string') return [];
  return content.flatMap((part, index): PartFile[] => {
    const at = `${field}.${index}`;
    if (part.type === 'file')
      return [{ ref: fileRefOf(part.file, `${at}.file`), field: at, asImage: false }];
    if (part.type !== 'image_url') return [];
    const [, mimeType, data] = IMAGE_DATA_URL.exec(part.image_url.url) ?? [];
    if (mimeType) return [{ image: { mimeType, data } }];
    const ref = { kind: 'id' as const, fileId: part.image_url.url };
    return [{ ref, field: `${at}.image_url.url`, asImage: true }];
  });
}

/**
 * The files /v1/chat/completions messages name (image parts with a file id, file parts),
 * read under the same rules as a send's attachments (FilesService.forMessage), before the
 * provider is called: documents become the labelled text a send puts in the prompt,
 * images their bytes. An inline file is stored as the owner's file first (as on the
 * Responses door); what a refused request stored is deleted.
 */
@Injectable()
export class CompletionFiles {
  constructor(
    private readonly files: FilesService,
    private readonly llm: LlmService,
  ) {}

  async read(
    owner: string,
    messages: ChatCompletionMessageDto[],
    model: ResolvedModel,
  ): Promise<RequestFiles> {
    const parts = messages.map((m, i) =>
      m.role === 'user' ? partFiles(m.content, `messages.${i}.content`) : [],
    );
    const inline = parts
      .flat()
      .reduce((sum, p) => sum + ('image' in p ? inlineImageTokens(p.image.data) : 0), 0);
    const named = parts.map((list) => list.filter((p) => 'ref' in p));
    if (named.every((list) => list.length === 0)) return { ...NO_FILES, imageTokens: inline };
    named.forEach((list, i) => {
      if (list.length > MAX_ATTACHMENTS)
        throw invalid(
          `messages.${i}.content`,
          `the message names ${list.length} files; at most ${MAX_ATTACHMENTS}`,
        );
    });
    const refs = named.flat().flatMap((p) => ('ref' in p ? [p.ref] : []));
    const { ids, stored } = await this.files.fromRefs(owner, refs);
    try {
      const found = await this.files.forMessage(owner, ids);
      const carried = await this.carried(parts, found, model);
      return { carried, stored, imageTokens: tokensOf(found) + inline };
    } catch (error) {
      await this.files.deleteAll(owner, stored);
      throw error;
    }
  }

  /** Deletes the inline files a request stored, once it is refused after `read`. */
  forget(owner: string, stored: string[]): Promise<void> {
    return this.files.deleteAll(owner, stored);
  }

  /** Each message's text with its documents and its images in part order. */
  private async carried(
    parts: PartFile[][],
    found: AttachableFile[],
    model: ResolvedModel,
  ): Promise<Map<number, CarriedFiles>> {
    if (found.some((file) => file.kind === 'image'))
      this.llm.assertCapable(model, { images: true });
    const files = [...found];
    const carried = new Map<number, CarriedFiles>();
    for (const [i, list] of parts.entries()) {
      if (!list.some((p) => 'ref' in p)) continue;
      const documents: AttachableFile[] = [];
      const images: ChatImage[] = [];
      for (const part of list) {
        if ('image' in part) images.push(part.image);
        else await this.take(part, files.shift()!, documents, images);
      }
      carried.set(i, { content: withDocuments('', documents), images });
    }
    return carried;
  }

  private async take(
    part: Extract<PartFile, { ref: FileRef }>,
    file: AttachableFile,
    documents: AttachableFile[],
    images: ChatImage[],
  ): Promise<void> {
    if (file.kind === 'image') images.push(chatImage(file, await this.files.bytesOf(file)));
    else if (part.asImage)
      throw invalid(
        part.field,
        `file ${file.id} (${file.filename}) is a document, not an image; send it as a file part: { "type": "file", "file": { "file_id": "${file.id}" } }`,
      );
    else documents.push(file);
  }
}
