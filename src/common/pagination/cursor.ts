import { AppException } from '../errors/app.exception';

/**
 * Opaque keyset cursors. Each names the list it belongs to (and, for messages, the
 * conversation), so a cursor from another list is refused instead of silently
 * paging through the wrong thing.
 */
export type Cursor =
  | { kind: 'conversations'; lastMessageAt: string; id: string }
  | { kind: 'messages'; conversationId: string; seq: number };

export class InvalidCursorException extends AppException {
  constructor(reason: string) {
    super(
      'invalid_cursor',
      `The cursor is not valid here (${reason}); pass nextCursor from the previous page unchanged`,
    );
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

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
  const { kind, lastMessageAt, id } = value;
  if (kind !== 'conversations') throw new InvalidCursorException('it belongs to another list');
  if (
    typeof id !== 'string' ||
    !UUID.test(id) ||
    typeof lastMessageAt !== 'string' ||
    !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(lastMessageAt) ||
    Number.isNaN(Date.parse(lastMessageAt))
  ) {
    throw new InvalidCursorException('malformed');
  }
  return { kind, lastMessageAt, id };
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
  if (typeof seq !== 'number' || !Number.isInteger(seq) || seq < -1)
    throw new InvalidCursorException('malformed');
  return { kind, conversationId, seq };
}
