import { AppException } from '../errors/app.exception';

/**
 * Opaque keyset cursors. Each names the list it belongs to (and, for messages, the
 * conversation), so a cursor from another list is refused instead of silently
 * paging through the wrong thing.
 */
export type Cursor =
  /** `pinned` is absent from cursors written before pinned conversations came first. */
  | { kind: 'conversations'; lastMessageAt: string; id: string; pinned?: boolean }
  | { kind: 'messages'; conversationId: string; seq: number }
  /**
   * Newest first: the page goes on above message `id` (the oldest one sent), so it names
   * its path whatever the leaf, and the next page walks only the messages it returns.
   */
  | { kind: 'messages-desc'; conversationId: string; id: string }
  /** Search results, ranked: bound to the query they page through. */
  | { kind: 'search'; q: string; score: number; id: string }
  /** An owner's files, newest first: the page goes on below file `id` (ids are time-ordered). */
  | { kind: 'files'; id: string };

export class InvalidCursorException extends AppException {
  constructor(reason: string) {
    super(
      'invalid_cursor',
      `The cursor is not valid here (${reason}); pass nextCursor from the previous page unchanged`,
    );
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** messages.seq is a PostgreSQL integer. */
const MAX_SEQ = 2 ** 31 - 1;
const ISO_MS = /^(\d{4})-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * A timestamp as encodeCursor writes it: one that exists (no 30 February: it must come
 * back unchanged from Date) and that PostgreSQL stores (it has no year 0).
 */
function isCursorTimestamp(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const year = ISO_MS.exec(value)?.[1];
  if (!year || Number(year) < 1) return false;
  const time = Date.parse(value);
  return !Number.isNaN(time) && new Date(time).toISOString() === value;
}

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

function parse(raw: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
    if (typeof value === 'object' && value !== null && !Array.isArray(value))
      return value as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new InvalidCursorException('malformed');
}

export function decodeConversationsCursor(raw: string): Extract<Cursor, { kind: 'conversations' }> {
  const value = parse(raw);
  const { kind, lastMessageAt, id, pinned } = value;
  if (kind !== 'conversations') throw new InvalidCursorException('it belongs to another list');
  if (typeof id !== 'string' || !UUID.test(id) || !isCursorTimestamp(lastMessageAt)) {
    throw new InvalidCursorException('malformed');
  }
  if (pinned !== undefined && typeof pinned !== 'boolean')
    throw new InvalidCursorException('malformed');
  return { kind, lastMessageAt, id, ...(pinned !== undefined && { pinned }) };
}

export function decodeSearchCursor(raw: string, q: string): Extract<Cursor, { kind: 'search' }> {
  const value = parse(raw);
  const { kind, score, id } = value;
  if (kind !== 'search' || value.q !== q)
    throw new InvalidCursorException('it belongs to another list or another query');
  if (typeof id !== 'string' || !UUID.test(id) || !Number.isSafeInteger(score))
    throw new InvalidCursorException('malformed');
  return { kind, q, score: score as number, id };
}

export function decodeMessagesCursor(
  raw: string,
  conversationId: string,
): Extract<Cursor, { kind: 'messages' }> {
  const value = parse(raw);
  const { kind, seq } = value;
  if (kind !== 'messages' || value.conversationId !== conversationId) {
    throw new InvalidCursorException('it belongs to another list');
  }
  if (typeof seq !== 'number' || !Number.isInteger(seq) || seq < -1 || seq > MAX_SEQ)
    throw new InvalidCursorException('malformed');
  return { kind, conversationId, seq };
}

/** A cursor of `GET …/messages?order=desc`: the oldest message the previous page sent. */
export function decodeNewestMessagesCursor(
  raw: string,
  conversationId: string,
): Extract<Cursor, { kind: 'messages-desc' }> {
  const value = parse(raw);
  const { kind, id } = value;
  if (kind !== 'messages-desc' || value.conversationId !== conversationId) {
    throw new InvalidCursorException('it belongs to another list or another order');
  }
  if (typeof id !== 'string' || !UUID.test(id)) throw new InvalidCursorException('malformed');
  return { kind, conversationId, id };
}

export function decodeFilesCursor(raw: string): Extract<Cursor, { kind: 'files' }> {
  const { kind, id } = parse(raw);
  if (kind !== 'files') throw new InvalidCursorException('it belongs to another list');
  if (typeof id !== 'string' || !UUID.test(id)) throw new InvalidCursorException('malformed');
  return { kind, id };
}
