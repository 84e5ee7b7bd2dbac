import { LlmException } from './llm.errors';

export interface RetryPolicyOptions {
  maxRetries: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** A Retry-After longer than this is not waited for: the error goes to the client. */
  maxRetryAfterMs?: number;
  random?: () => number;
}

/**
 * Exponential backoff with full jitter, honouring Retry-After. Pure: decides, never sleeps.
 * Returns the delay before the next attempt, or undefined when the error must surface.
 */
export function nextRetryDelay(
  error: unknown,
  attempt: number,
  options: RetryPolicyOptions,
): number | undefined {
  if (!(error instanceof LlmException) || !error.retry.retryable || attempt >= options.maxRetries)
    return undefined;
  const {
    baseDelayMs = 250,
    maxDelayMs = 8000,
    maxRetryAfterMs = 30_000,
    random = Math.random,
  } = options;
  const retryAfter = error.retry.retryAfterMs;
  if (retryAfter !== undefined) return retryAfter <= maxRetryAfterMs ? retryAfter : undefined;
  const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** attempt);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
