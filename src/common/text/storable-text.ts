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
