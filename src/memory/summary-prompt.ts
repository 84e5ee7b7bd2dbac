import type { ChatMessage } from '../llm/llm.types';
import {
  countTokensConservatively,
  countTokensConservativelyAsync,
} from '../prompts/token-counter';
import type { WindowMessage } from '../history/memory-mark';

/**
 * The instructions of a summary request. The fake LLM (test/fake-llm) recognises a request
 * by its first words, "Update the running summary", and answers it deterministically.
 */
export const SUMMARY_INSTRUCTIONS =
  'Update the running summary of a conversation between a user and an assistant. ' +
  'You get the current summary and the messages that came after it. Reply with the new ' +
  'summary only, as short plain lines: keep every fact, name, number, preference, decision ' +
  'and open question that may matter later; drop greetings and small talk; do not address ' +
  'the user.';

export const NO_SUMMARY_YET = '(none yet)';

/** What the instructions and the fixed text around the messages cost, with room to spare. */
export const SUMMARY_PROMPT_OVERHEAD = countTokensConservatively(SUMMARY_INSTRUCTIONS) + 64;
/**
 * The least context window a summary request fits in: the instructions, the previous
 * summary and the new one (each at most `maxTokens`), and room for some messages.
 */
export function summaryWindowNeeded(maxTokens: number): number {
  return SUMMARY_PROMPT_OVERHEAD + 2 * maxTokens + 64;
}

/** Cost of one message's line on top of its text (role prefix and line break). */
export const SUMMARY_LINE_OVERHEAD = 4;

/** The request folding `messages` into `previous` (null: no summary yet). */
export function summaryRequest(previous: string | null, messages: WindowMessage[]): ChatMessage[] {
  const lines = messages.map((m) => `${m.role}: ${m.content}`).join('\n');
  return [
    { role: 'system', content: SUMMARY_INSTRUCTIONS },
    {
      role: 'user',
      content: `Current summary:\n${previous || NO_SUMMARY_YET}\n\nNew messages:\n${lines}`,
    },
  ];
}

/**
 * The oldest messages whose lines fit `budget` tokens (at least one, cut to fit, so a
 * message longer than the budget still moves the summary on).
 */
export function takeBatch(messages: WindowMessage[], budget: number): WindowMessage[] {
  const batch: WindowMessage[] = [];
  let used = 0;
  for (const message of messages) {
    const cost = message.tokenCount + SUMMARY_LINE_OVERHEAD;
    if (used + cost > budget) break;
    batch.push(message);
    used += cost;
  }
  if (batch.length === 0 && messages[0]) {
    // A character is at most 4 bytes and a byte at most one token: this many never cost more.
    const chars = Math.max(1, Math.floor(budget / 4));
    batch.push({ ...messages[0], content: messages[0].content.slice(0, chars) });
  }
  return batch;
}

/**
 * The summary cut to `maxTokens` by our count, with that count. max_tokens caps it in the
 * upstream's tokens, which our conservative count can exceed; a summary over its budget
 * would take the window's room for messages.
 */
export async function fitSummary(
  text: string,
  maxTokens: number,
): Promise<{ content: string; tokenCount: number }> {
  let content = text;
  let tokenCount = await countTokensConservativelyAsync(content);
  while (tokenCount > maxTokens) {
    const keep = Math.floor((content.length * maxTokens) / tokenCount) - 1;
    content = content.slice(0, Math.max(0, keep)).trimEnd();
    tokenCount = await countTokensConservativelyAsync(content);
  }
  return { content, tokenCount };
}
