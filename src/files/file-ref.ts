/**
 * A file a message part names, on any door: one of the owner's files by id, or bytes sent
 * inline as a base64 data URL (stored as a file of the owner before the model sees them).
 */
export type FileRef =
  | { kind: 'id'; fileId: string }
  | { kind: 'data'; mimeType: string; data: string; filename: string };

/** A base64 data URL: its media type and its bytes. */
const DATA_URL = /^data:([a-z0-9.+-]+\/[a-z0-9.+-]+)(?:;[^;,]*)*;base64,([A-Za-z0-9+/]*={0,2})$/i;

/** Extensions for inline files sent without a filename (the upload sniffs the bytes anyway). */
const EXTENSIONS: Record<string, string> = {
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'image/gif': 'gif',
  'image/webp': 'webp',
  'application/pdf': 'pdf',
  'text/plain': 'txt',
  'text/markdown': 'md',
};

/** The media type (lower case) and base64 bytes of a data URL; null when it is not one. */
export function parseDataUrl(url: string): { mimeType: string; data: string } | null {
  const [, mimeType, data] = DATA_URL.exec(url) ?? [];
  return mimeType && data ? { mimeType: mimeType.toLowerCase(), data } : null;
}

/** An inline file's name: the one sent, else `<stem>.<extension of its type>`. */
export function inlineFilename(given: unknown, mimeType: string, stem: string): string {
  if (typeof given === 'string' && given.trim() !== '') return given.trim();
  return `${stem}.${EXTENSIONS[mimeType] ?? 'bin'}`;
}
