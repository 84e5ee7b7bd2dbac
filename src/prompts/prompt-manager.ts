import { Injectable } from '@nestjs/common';

import { AppException } from '../common/errors/app.exception';
import type { ChatMessage } from '../llm/llm.types';

export const DEFAULT_SYSTEM_PROMPT =
  'You are a helpful assistant. Answer accurately and concisely, and say so when you do not know.';

/** Role markers and separators each message costs on top of its text (OpenAI's rule of thumb, rounded up). */
export const MESSAGE_OVERHEAD_TOKENS = 4;
/** Tokens that prime the reply. */
const REPLY_PRIMING_TOKENS = 3;

export interface HistoryMessage {
  role: 'user' | 'assistant' | 'system';
  content: string;
  /** Stored conservative count of `content`. */
  tokenCount: number;
}

export interface PromptBudget {
  contextWindow: number;
  /** Tokens reserved for the reply (max_tokens sent upstream). */
  replyTokens: number;
  systemPromptTokens: number;
  newMessageTokens: number;
}

export interface BuiltPrompt {
  messages: ChatMessage[];
  /** Our conservative estimate of the prompt's size. */
  promptTokens: number;
  /** How many stored messages made it in. */
  historyCount: number;
}

export class MessageTooLongException extends AppException {
  constructor(needed: number, available: number) {
    super(
      'message_too_long',
      `The message needs about ${needed} tokens but only ${available} fit in this model's context window ` +
        `after the system prompt and the reply budget; shorten it, lower params.maxTokens, or use a model with a larger window`,
    );
  }
}

export const messageCost = (tokenCount: number): number => tokenCount + MESSAGE_OVERHEAD_TOKENS;

/**
 * Turns a conversation into the prompt for one turn: the system prompt, then as many of
 * the newest stored messages as fit the context window minus the reply budget, then the
 * new message. Pure: no I/O, no framework.
 */
@Injectable()
export class PromptManager {
  /** Tokens left for history; throws message_too_long when even the new message does not fit. */
  historyBudget(budget: PromptBudget): number {
    const fixed = REPLY_PRIMING_TOKENS + messageCost(budget.systemPromptTokens);
    const available = budget.contextWindow - budget.replyTokens - fixed;
    const needed = messageCost(budget.newMessageTokens);
    if (needed > available) throw new MessageTooLongException(needed, Math.max(0, available));
    return available - needed;
  }

  /** `history` is oldest first; the newest that fit within `historyBudget` are kept, in order. */
  build(
    systemPrompt: string,
    history: HistoryMessage[],
    newMessage: string,
    budget: PromptBudget,
  ): BuiltPrompt {
    const remaining = this.historyBudget(budget);
    let used = 0;
    let first = history.length;
    while (first > 0 && used + messageCost(history[first - 1].tokenCount) <= remaining) {
      first--;
      used += messageCost(history[first].tokenCount);
    }
    const kept = history.slice(first);
    return {
      messages: [
        { role: 'system', content: systemPrompt },
        ...kept.map(({ role, content }) => ({ role, content })),
        { role: 'user', content: newMessage },
      ],
      promptTokens:
        REPLY_PRIMING_TOKENS +
        messageCost(budget.systemPromptTokens) +
        used +
        messageCost(budget.newMessageTokens),
      historyCount: kept.length,
    };
  }
}
