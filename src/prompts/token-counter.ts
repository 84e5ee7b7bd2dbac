import { countTokens } from 'gpt-tokenizer/encoding/cl100k_base';

/** Upstream models tokenize differently; cl100k plus this margin stays on the safe side. */
const SAFETY_FACTOR = 1.15;

/**
 * Counts tokens conservatively with a real BPE tokenizer (cl100k_base). Counts are
 * stored with each message when it is written, so a turn never re-tokenizes history.
 */
export function countTokensConservatively(text: string): number {
  return text.length === 0 ? 0 : Math.ceil(countTokens(text) * SAFETY_FACTOR);
}
