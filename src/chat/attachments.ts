import type { AttachableFile } from '../files';
import { imageTokens } from '../files';
import type { MessageAttachment } from '../history/message';
import type { ChatImage } from '../llm/llm.types';
import { countTokensConservatively } from '../prompts/token-counter';

/** What one attachment costs in the prompt, as the context manifest shows it. */
export interface AttachmentCost {
  fileId: string;
  kind: 'image' | 'document';
  tokens: number;
}

/** An image whose dimensions were not read is counted as a large one (4 tiles). */
const UNKNOWN_IMAGE_TOKENS = imageTokens(2048, 2048);

/** The labelled part a document adds to its message's text. */
export function documentPart(file: { filename: string; text: string | null }): string {
  return `\n\n[Attached: ${file.filename}]\n${file.text ?? ''}`;
}

/** Tokens each file adds to its message: a document's label and text, an image's tiles. */
export function attachmentCosts(files: AttachableFile[]): AttachmentCost[] {
  return files.map((file) =>
    file.kind === 'image'
      ? {
          fileId: file.id,
          kind: 'image',
          tokens:
            file.width && file.height ? imageTokens(file.width, file.height) : UNKNOWN_IMAGE_TOKENS,
        }
      : {
          fileId: file.id,
          kind: 'document',
          // The text was counted once, when it was extracted; only the label is counted here.
          tokens:
            (file.textTokens ?? countTokensConservatively(file.text ?? '')) +
            countTokensConservatively(documentPart({ filename: file.filename, text: '' })),
        },
  );
}

/** The message's text as the model reads it: what was typed, then each document's text. */
export function withDocuments(content: string, files: AttachableFile[]): string {
  const documents = files.filter((file) => file.kind !== 'image');
  return content + documents.map(documentPart).join('');
}

/** message_attachments rows as jsonb_populate_recordset reads them (snake_case columns). */
export function attachmentRowsJson(messageId: string, files: { id: string }[]): string {
  return JSON.stringify(
    files.map((file, position) => ({ message_id: messageId, file_id: file.id, position })),
  );
}

/** An image an alias that cannot see gets as a line of text (an earlier message's). */
export function unseenImageAsText(file: AttachableFile): AttachableFile {
  return file.kind === 'image'
    ? { ...file, kind: 'document', text: '(an image; this model cannot see images)' }
    : file;
}

/** An attached image as the provider gets it: its bytes, and its stored hash for cache keys. */
export function chatImage(file: AttachableFile, data: Buffer): ChatImage {
  const image: ChatImage = { mimeType: file.mimeType, data };
  if (file.sha256) image.sha256 = file.sha256;
  return image;
}

/** The history window's messages with the files each carries: documents' text, images. */
export function historyWithFiles<M extends { id: string; content: string }>(
  history: M[],
  carried: Map<string, { files: AttachableFile[]; images: ChatImage[] }>,
): (M & { images?: ChatImage[] })[] {
  return history.map((message) => {
    const files = carried.get(message.id);
    if (!files) return message;
    const content = withDocuments(message.content, files.files);
    return files.images.length > 0
      ? { ...message, content, images: files.images }
      : { ...message, content };
  });
}

/** A carried file as the message shows it. */
export function attachmentBrief(file: AttachableFile): MessageAttachment {
  const { id, filename, mimeType } = file;
  return {
    id,
    filename,
    mimeType,
    bytes: Number(file.bytes),
    kind: file.kind === 'image' ? 'image' : 'document',
  };
}
