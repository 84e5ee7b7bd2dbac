import type { LlmUsage } from '../llm.types';

/** The largest count stored: usage lands in PostgreSQL `integer` columns. */
export const MAX_TOKEN_COUNT = 2 ** 31 - 1;

/** A token count as reported, if it is one: a finite number, not negative, at most MAX_TOKEN_COUNT. */
function tokenCount(value: unknown): number | null {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) return null;
  return Math.min(Math.round(value), MAX_TOKEN_COUNT);
}

/**
 * The usage an upstream reported, made safe to count and store. The SDKs type it but parse
 * whatever the server sent: a count that is no count (a string, negative, NaN) makes the
 * whole usage unknown, so the turn estimates it; an absurdly large one is clamped.
 */
export function toUsage(usage: unknown): LlmUsage | null {
  if (typeof usage !== 'object' || usage === null) return null;
  const reported = usage as { prompt_tokens?: unknown; completion_tokens?: unknown };
  const promptTokens = tokenCount(reported.prompt_tokens);
  const completionTokens = tokenCount(reported.completion_tokens);
  return promptTokens === null || completionTokens === null
    ? null
    : { promptTokens, completionTokens };
}
