import mammoth from 'mammoth';

import { DOCX, TEXT_TYPES } from '../content-type';
import { requireEsm } from '../esm';
import type { ExtractErrorCode } from './extraction.types';

/** An extraction that ends in a known failure (stored as the file's error code). */
export class ExtractError extends Error {
  constructor(
    readonly code: ExtractErrorCode,
    message: string,
  ) {
    super(message);
  }
}

interface PdfTextItem {
  str?: string;
  hasEOL?: boolean;
}
interface PdfDocument {
  numPages: number;
  getPage(n: number): Promise<{
    getTextContent(): Promise<{ items: PdfTextItem[] }>;
    cleanup(): void;
  }>;
}
interface Unpdf {
  getDocumentProxy(data: Uint8Array, options?: Record<string, unknown>): Promise<PdfDocument>;
}

function tooMuch(maxChars: number): ExtractError {
  return new ExtractError(
    'extract_too_much_text',
    `The document holds more than FILE_EXTRACT_MAX_CHARS (${maxChars}) characters of text`,
  );
}

/** A PDF's text, page by page; stops as soon as it passes `maxChars`. */
async function pdfText(bytes: Uint8Array, maxChars: number): Promise<string> {
  const { getDocumentProxy } = requireEsm<Unpdf>('unpdf');
  let pdf: PdfDocument;
  try {
    pdf = await getDocumentProxy(bytes, { isEvalSupported: false, stopAtErrors: false });
  } catch (error) {
    if ((error as Error).name === 'PasswordException')
      throw new ExtractError('extract_encrypted', 'The PDF is password-protected');
    throw new ExtractError('extract_unreadable', `The PDF cannot be read: ${String(error)}`);
  }
  const pages: string[] = [];
  let length = 0;
  for (let n = 1; n <= pdf.numPages; n++) {
    const page = await pdf.getPage(n);
    const content = await page.getTextContent();
    const text = content.items.map((item) => (item.str ?? '') + (item.hasEOL ? '\n' : '')).join('');
    page.cleanup();
    length += text.length + 2;
    if (length > maxChars) throw tooMuch(maxChars);
    pages.push(text.trim());
  }
  return pages.join('\n\n');
}

/** The text of a document, by its sniffed type. */
export async function documentText(
  mimeType: string,
  bytes: Buffer,
  maxChars: number,
): Promise<string> {
  let text: string;
  if (TEXT_TYPES.has(mimeType)) text = bytes.toString('utf8').replace(/^\uFEFF/, '');
  else if (mimeType === 'application/pdf') text = await pdfText(new Uint8Array(bytes), maxChars);
  else if (mimeType === DOCX) {
    try {
      text = (await mammoth.extractRawText({ buffer: bytes })).value;
    } catch (error) {
      throw new ExtractError('extract_unreadable', `The DOCX cannot be read: ${String(error)}`);
    }
  } else throw new ExtractError('extract_failed', `No text extractor for ${mimeType}`);
  if (text.length > maxChars) throw tooMuch(maxChars);
  // PostgreSQL text cannot hold NUL; a PDF's text sometimes does.
  return text.replaceAll('\u0000', '');
}
