/** A UTF-16 surrogate without its other half: not Unicode text, and UTF-8 cannot encode it. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Why `text` cannot be stored as PostgreSQL text, or undefined when it can. PostgreSQL
 * refuses NUL outright, and a lone surrogate would be silently replaced (or break a
 * JSON column), so both are refused at the door instead of failing deep inside a turn.
 */
export function unstorableTextReason(text: string): string | undefined {
  if (text.includes('\u0000')) return 'must not contain NUL (\\u0000) characters';
  if (LONE_SURROGATE.test(text)) return 'must be well-formed Unicode (no lone surrogate halves)';
  return undefined;
}

/** NUL and lone surrogate halves, everywhere in a string. */
// eslint-disable-next-line no-control-regex -- NUL is one of the characters it finds
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * `text` without what PostgreSQL text cannot hold (NUL, lone surrogate halves). For text we
 * did not choose, such as a model's reply: refused at the door for input, dropped here, so
 * nothing that keeps it fails to write it.
 */
export function storableText(text: string): string {
  return text.replace(UNSTORABLE, '');
}

/**
 * storableText for text that arrives in pieces: a surrogate pair split between two pieces
 * is kept whole (its first half waits for the next piece), a half left alone is dropped.
 */
export class StorableTextStream {
  private held = '';

  push(piece: string): string {
    const text = this.held + piece;
    const last = text.charCodeAt(text.length - 1);
    const split = last >= 0xd800 && last <= 0xdbff;
    this.held = split ? text.slice(-1) : '';
    return storableText(split ? text.slice(0, -1) : text);
  }
}
