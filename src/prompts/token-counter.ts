import { setImmediate as nextTurn } from 'node:timers/promises';

import { countTokens, setMergeCacheSize } from 'gpt-tokenizer/encoding/cl100k_base';

/** Upstream models tokenize differently; cl100k plus this margin stays on the safe side. */
const SAFETY_FACTOR = 1.15;

/**
 * The BPE merge is quadratic in the length of one pre-token, and a run of one character
 * class (100,000 × "m", a hex blob, a line of dashes) is one pre-token. Cutting runs at
 * this length bounds the work to O(length × MAX_RUN); ordinary words are far shorter,
 * so ordinary text is counted exactly.
 */
export const MAX_RUN = 48;

/** Longest slice tokenized in one go (cut before whitespace where there is some). */
export const SEGMENT_CHARS = 1024;

/** UTF-8 bytes tokenized between two yields to the event loop (a few ms of work). */
export const YIELD_EVERY_BYTES = 2048;

/**
 * Words the tokenizer remembers the merge of (least recently used go first). The library
 * keeps 100,000: after as many distinct rare words (names, identifiers, other languages)
 * that is over 20 MB of heap, held for good. 10,000 count ordinary text as fast.
 */
const MERGE_CACHE_ENTRIES = 10_000;
setMergeCacheSize(MERGE_CACHE_ENTRIES);

/** User text may contain "<|endoftext|>" and the like: counted as the plain text they are. */
const PLAIN_TEXT = { disallowedSpecial: new Set<string>() };

/**
 * Runs of one class as cl100k's pre-tokenizer sees them (letters, digits, spaces, the
 * rest) that are longer than MAX_RUN: the only ones cut. The classes do not overlap, so
 * each match is a whole run, found without visiting the short runs one by one.
 */
const LONG_RUNS = new RegExp(
  ['\\p{L}', '\\p{N}', '\\s', '[^\\s\\p{L}\\p{N}]'].map((c) => `${c}{${MAX_RUN + 1},}`).join('|'),
  'gu',
);

const isLowSurrogate = (code: number): boolean => code >= 0xdc00 && code <= 0xdfff;
const isWhitespace = (code: number): boolean =>
  code === 0x20 || (code >= 0x09 && code <= 0x0d) || code === 0xa0 || code === 0x3000;

/** Moves a cut off the second half of a surrogate pair. */
const safeCut = (text: string, at: number): number =>
  isLowSurrogate(text.charCodeAt(at)) ? at - 1 : at;

/**
 * Where the slice that starts at `start` ends: just before the last whitespace of its
 * second half (cl100k attaches a space to the word after it), else at the limit.
 */
function segmentEnd(text: string, start: number): number {
  const limit = start + SEGMENT_CHARS;
  if (limit >= text.length) return text.length;
  for (let i = limit; i > start + SEGMENT_CHARS / 2; i--) {
    if (isWhitespace(text.charCodeAt(i))) return i;
  }
  return safeCut(text, limit);
}

/** The pieces of `segment` the BPE sees separately: its runs cut every MAX_RUN chars. */
function* pieces(segment: string): Generator<string> {
  let start = 0;
  for (const run of segment.matchAll(LONG_RUNS)) {
    const end = run.index + run[0].length;
    for (let cut = run.index + MAX_RUN; cut < end; cut += MAX_RUN) {
      const at = safeCut(segment, cut);
      yield segment.slice(start, at);
      start = at;
    }
  }
  if (start < segment.length) yield segment.slice(start);
}

/** The slices of `text`, each tokenized on its own in bounded time. */
function* segments(text: string): Generator<string> {
  for (let start = 0; start < text.length;) {
    const end = segmentEnd(text, start);
    yield* pieces(text.slice(start, end));
    start = end;
  }
}

const conservative = (tokens: number): number => Math.ceil(tokens * SAFETY_FACTOR);

/**
 * Counts tokens conservatively with a real BPE tokenizer (cl100k_base), in time linear in
 * the text's length. Cutting slices can only cost a merge at each cut, so the count errs
 * high (by well under 1% on ordinary text). Counts are stored with each message when it is
 * written, so a turn never re-tokenizes history.
 */
export function countTokensConservatively(text: string): number {
  let tokens = 0;
  for (const piece of segments(text)) tokens += countTokens(piece, PLAIN_TEXT);
  return conservative(tokens);
}

/**
 * The same count, yielding to the event loop every YIELD_EVERY_BYTES of text: a 100,000-
 * character message costs some 100-300 ms of CPU, which must not stall every other
 * request, stream and heartbeat of the process.
 */
export async function countTokensConservativelyAsync(text: string): Promise<number> {
  // Too short to reach a yield (at most 3 UTF-8 bytes per UTF-16 unit): counted at once.
  if (text.length * 3 < YIELD_EVERY_BYTES) return countTokensConservatively(text);
  let tokens = 0;
  let sinceYield = 0;
  for (const piece of segments(text)) {
    tokens += countTokens(piece, PLAIN_TEXT);
    sinceYield += Buffer.byteLength(piece);
    if (sinceYield >= YIELD_EVERY_BYTES) {
      sinceYield = 0;
      await nextTurn();
    }
  }
  return conservative(tokens);
}
