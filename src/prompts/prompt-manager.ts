import { Injectable } from '@nestjs/common';

import { AppException } from '../common/errors/app.exception';
import type { ChatImage, ChatMessage, ToolCall } from '../llm/llm.types';
import { toChatHistory } from './tool-sequence';
import { countTokensConservatively } from './token-counter';

export const DEFAULT_SYSTEM_PROMPT =
  'You are a helpful assistant. Answer accurately and concisely, and say so when you do not know.';

/** Role markers and separators each message costs on top of its text (OpenAI's rule of thumb, rounded up). */
export const MESSAGE_OVERHEAD_TOKENS = 4;
/** Tokens that prime the reply. */
const REPLY_PRIMING_TOKENS = 3;
/** Most stored messages one turn reads for its history, whatever the window allows. */
export const HISTORY_MAX_ROWS = 1000;
/** System prompts whose token counts are remembered (conversations reuse theirs every turn). */
const SYSTEM_PROMPT_CACHE_SIZE = 500;

export interface HistoryMessage {
  role: 'user' | 'assistant' | 'system' | 'tool';
  content: string;
  /** Who spoke (user messages); sent as the message's `name`. Absent or null: nobody named. */
  speakerName?: string | null;
  /** user: the images it carries, shown to aliases that can see. */
  images?: ChatImage[];
  /** The tools an assistant message called; absent or null when none. */
  toolCalls?: ToolCall[] | null;
  /** A tool message: the call it answers. */
  toolCallId?: string | null;
  /** Stored conservative count of `content` (and of an assistant's tool calls). */
  tokenCount: number;
}

/**
 * Which stored messages a turn's prompt holds: the newest complete messages whose costs
 * (tokenCount + messageOverhead each) add up to at most maxTokens, at most maxRows of
 * them, beginning at a user message. The repository applies it in the turn's SQL, so only
 * the window is ever read.
 */
export interface HistoryWindow {
  maxTokens: number;
  maxRows: number;
  messageOverhead: number;
  /**
   * Whether the newest summary of the conversation (a memory mark, see src/memory) is sent;
   * when it is, the window holds only messages after it and its cost comes out of maxTokens.
   */
  summaries: boolean;
  /** What the summary message costs on top of the summary's own tokens (label, overhead). */
  summaryOverhead: number;
}

/** The summary a turn sends before its window (the newest summary mark before the turn). */
export interface PromptSummary {
  content: string;
  /** Stored conservative count of `content`. */
  tokenCount: number;
}

/** What a turn's model and settings leave for its prompt. */
export interface PromptLimits {
  contextWindow: number;
  /** Tokens reserved for the reply (max_tokens sent upstream). */
  replyTokens: number;
  /** The conversation's own system prompt; null for the default. */
  systemPrompt: string | null;
  newMessageTokens: number;
  /** What the function tools offered cost (their definitions, counted as JSON); 0 for none. */
  toolTokens?: number;
  /** Send the conversation's summary (SUMMARIES=on). */
  summaries?: boolean;
}

/** The plan of one turn's prompt, decided before its history is read. */
export interface PromptPlan {
  systemPrompt: string;
  systemPromptSource: 'default' | 'conversation';
  systemPromptTokens: number;
  toolTokens: number;
  newMessageTokens: number;
  window: HistoryWindow;
}

export interface BuiltPrompt {
  messages: ChatMessage[];
  /** Our conservative estimate of the prompt's size. */
  promptTokens: number;
  /** How many stored messages made it in. */
  historyCount: number;
  /** What each part costs (per-message overhead included); with the priming they add up to promptTokens. */
  parts: { system: number; tools: number; summary: number; history: number; userMessage: number };
}

/** Heads the summary message, so the model knows what it is reading. */
export const SUMMARY_LABEL =
  'Summary of the earlier conversation (its older messages are no longer shown):';

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

export function summaryMessage(summary: PromptSummary): ChatMessage {
  return { role: 'system', content: `${SUMMARY_LABEL}\n${summary.content}` };
}

/**
 * Owns what goes into a turn's prompt: the system prompt (the conversation's or the
 * default), the token budget (context window minus the reply budget), the history window,
 * and the assembled messages. No I/O.
 */
@Injectable()
export class PromptManager {
  private readonly systemPromptTokens = new Map<string, number>();
  private readonly summaryOverhead = messageCost(countTokensConservatively(`${SUMMARY_LABEL}\n`));

  /** Decides the window; throws message_too_long when even the new message does not fit. */
  plan(limits: PromptLimits): PromptPlan {
    const systemPrompt = limits.systemPrompt ?? DEFAULT_SYSTEM_PROMPT;
    const systemPromptTokens = this.countSystemPrompt(systemPrompt);
    const toolTokens = limits.toolTokens ?? 0;
    const fixed = REPLY_PRIMING_TOKENS + messageCost(systemPromptTokens) + toolTokens;
    const available = limits.contextWindow - limits.replyTokens - fixed;
    const needed = messageCost(limits.newMessageTokens);
    if (needed > available) throw new MessageTooLongException(needed, Math.max(0, available));
    return {
      systemPrompt,
      systemPromptSource: limits.systemPrompt === null ? 'default' : 'conversation',
      systemPromptTokens,
      toolTokens,
      newMessageTokens: limits.newMessageTokens,
      window: {
        maxTokens: available - needed,
        maxRows: HISTORY_MAX_ROWS,
        messageOverhead: MESSAGE_OVERHEAD_TOKENS,
        summaries: limits.summaries ?? false,
        summaryOverhead: this.summaryOverhead,
      },
    };
  }

  /**
   * The prompt: system prompt, the summary of what came before the window (a system
   * message of its own, labelled), the window's messages (oldest first), the turn's new
   * messages (a user message, or the results of the tools the last reply called).
   */
  build(
    plan: PromptPlan,
    history: HistoryMessage[],
    input: ChatMessage[],
    summary: PromptSummary | null = null,
  ): BuiltPrompt {
    const parts = {
      system: messageCost(plan.systemPromptTokens),
      tools: plan.toolTokens,
      summary: summary ? summary.tokenCount + this.summaryOverhead : 0,
      history: history.reduce((sum, m) => sum + messageCost(m.tokenCount), 0),
      userMessage: messageCost(plan.newMessageTokens),
    };
    return {
      messages: [
        { role: 'system', content: plan.systemPrompt },
        ...(summary ? [summaryMessage(summary)] : []),
        ...toChatHistory(history, input),
        ...input,
      ],
      promptTokens:
        REPLY_PRIMING_TOKENS +
        parts.system +
        parts.tools +
        parts.summary +
        parts.history +
        parts.userMessage,
      historyCount: history.length,
      parts,
    };
  }

  private countSystemPrompt(text: string): number {
    let count = this.systemPromptTokens.get(text);
    if (count === undefined) {
      count = countTokensConservatively(text);
      if (this.systemPromptTokens.size >= SYSTEM_PROMPT_CACHE_SIZE) this.systemPromptTokens.clear();
      this.systemPromptTokens.set(text, count);
    }
    return count;
  }
}
