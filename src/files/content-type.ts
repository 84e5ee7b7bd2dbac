import { requireEsm } from './esm';

/** Enough of file-type's API (ESM-only: see requireEsm). */
interface FileTypeModule {
  fileTypeFromBuffer(buffer: Uint8Array): Promise<{ ext: string; mime: string } | undefined>;
}

let fileType: FileTypeModule | undefined;

/** Raster images vision models take; everything else allowed is a document. */
export const IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

export const DOCX = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';

/** Text formats: kept as they are once the bytes proved to be UTF-8 text. */
export const TEXT_TYPES = new Set([
  'text/plain',
  'text/markdown',
  'text/csv',
  'application/json',
  'text/html',
  'application/xml',
  'image/svg+xml',
]);

/** What FILE_ALLOWED_TYPES allows when unset. */
export const DEFAULT_ALLOWED_TYPES = [...IMAGE_TYPES, 'application/pdf', DOCX, ...TEXT_TYPES];

/**
 * Served inline by GET …/content: what a browser shows but cannot run. Everything else
 * (HTML, SVG, XML, PDF, DOCX) is an attachment: a PDF viewer runs scripts and forms, and
 * an HTML or SVG page on the API's origin could act with its credentials.
 */
const INLINE_TYPES = new Set([...IMAGE_TYPES, 'text/plain', 'text/markdown', 'text/csv']);

export function isInline(mimeType: string): boolean {
  return INLINE_TYPES.has(mimeType);
}

/** The Content-Type a file is served with: text types say their charset. */
export function servedContentType(mimeType: string): string {
  return TEXT_TYPES.has(mimeType) ? `${mimeType}; charset=utf-8` : mimeType;
}

export interface SniffedType {
  mimeType: string;
  kind: 'image' | 'document';
  /** Text: the rest of the bytes must prove to be UTF-8 without NUL (TextChecker). */
  text: boolean;
}

/** Markup a browser would run or render, recognised at the start of a text. */
function markupType(head: string): string | undefined {
  const start = head
    .replace(/^\uFEFF/, '')
    .trimStart()
    .slice(0, 1024)
    .toLowerCase();
  if (start.startsWith('<!doctype html') || /^<(html|head|body|script)[\s>]/.test(start))
    return 'text/html';
  if (/^(<\?xml[^>]*>\s*)?(<!--[\s\S]*?-->\s*)*(<!doctype svg[^>]*>\s*)?<svg[\s>]/.test(start))
    return 'image/svg+xml';
  if (start.startsWith('<?xml')) return 'application/xml';
  return undefined;
}

/**
 * A text's type: markup when it starts as HTML, SVG or XML, else plain text. Only then,
 * among types a browser never runs, the name's extension picks Markdown, CSV or JSON (the
 * bytes cannot tell them from plain text; the name cannot make them anything dangerous).
 */
function textType(head: string, filename: string): string {
  const markup = markupType(head);
  if (markup) return markup;
  const ext = /\.([a-z0-9]+)$/i.exec(filename)?.[1]?.toLowerCase();
  if (ext === 'md' || ext === 'markdown') return 'text/markdown';
  if (ext === 'csv') return 'text/csv';
  if (ext === 'json') return 'application/json';
  return 'text/plain';
}

/**
 * The type of a file from its first bytes (up to a storage chunk): file-type's magic
 * numbers, or text when it has none and they decode as UTF-8 without NUL (the rest is
 * checked as it streams). Undefined: binary of no known type.
 */
export async function sniffType(head: Buffer, filename: string): Promise<SniffedType | undefined> {
  fileType ??= requireEsm<FileTypeModule>('file-type');
  const found = await fileType.fileTypeFromBuffer(head);
  // file-type names XML by its declaration; as text it is told apart from SVG below.
  if (found && found.mime !== 'application/xml') {
    const kind = IMAGE_TYPES.has(found.mime) ? 'image' : 'document';
    return { mimeType: found.mime, kind, text: false };
  }
  const checker = new TextChecker();
  if (!checker.push(head, false)) return undefined;
  return { mimeType: textType(head.toString('utf8'), filename), kind: 'document', text: true };
}

/** Checks bytes, piece by piece, for valid UTF-8 without NUL; holds no more than a piece. */
export class TextChecker {
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });

  /** False once the bytes so far are not text; `last` checks nothing is left mid-character. */
  push(piece: Uint8Array, last: boolean): boolean {
    if (piece.includes(0)) return false;
    try {
      this.decoder.decode(piece, { stream: !last });
      return true;
    } catch {
      return false;
    }
  }
}

/** Whether `mimeType` matches one of the allowed patterns (`type/*` covers a whole type). */
export function isAllowedType(mimeType: string, allowed: readonly string[]): boolean {
  return allowed.some((pattern) =>
    pattern.endsWith('/*') ? mimeType.startsWith(pattern.slice(0, -1)) : pattern === mimeType,
  );
}
