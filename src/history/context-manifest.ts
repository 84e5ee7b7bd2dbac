import type { BuiltPrompt, PromptPlan } from '../prompts/prompt-manager';
import type { ReadWindow } from './memory-mark';

/**
 * What one reply's prompt held, stored with the assistant message (messages.context).
 * Token figures are our conservative counts, each part with its per-message overhead, so
 * system + tools + summary + history + userMessage + priming = promptTokens.
 */
export interface ContextManifest {
  /** The alias that answered. */
  model: string;
  contextWindow: number;
  /** Tokens reserved for the reply (max_tokens sent upstream). */
  replyTokens: number;
  /** What the prompt may use: the context window minus the reply budget. */
  promptBudget: number;
  promptTokens: number;
  systemPrompt: { source: 'default' | 'conversation'; tokens: number };
  /** The summary sent before the history, and the last message it covers. */
  summary: {
    throughMessageId: string;
    throughSeq: number;
    summarizedMessages: number;
    tokens: number;
  } | null;
  /** The memory was reset after this message: nothing up to it was sent. */
  resetAfterMessageId: string | null;
  history: {
    messages: number;
    firstMessageId: string | null;
    lastMessageId: string | null;
    /** Messages after the summary (or reset) left out because they did not fit. */
    omitted: number;
    tokens: number;
  };
  /** The new messages: the user message, or the last of the tool results (`count` of them). */
  userMessage: { messageId: string; tokens: number; count?: number };
  /**
   * The files the new user message carries, in order, and the tokens each adds (counted in
   * `userMessage.tokens`): a document's labelled text, an image's tiles. Absent when none.
   */
  attachments?: ManifestAttachment[];
  /** The function tools offered (their definitions' tokens); absent when none. */
  tools?: { names: string[]; tokens: number };
  /**
   * Aliases given up before the one that answered (`model`), in order, with the error
   * each failed with; absent when the first alias answered.
   */
  tried?: { alias: string; errorCode: string }[];
  /** The reply was the response cache's, for the same prompt: no provider was called. */
  cached?: boolean;
  /** Who writes this conversation's summaries, or why none can be (absent before it existed). */
  memory?: SummaryPlan;
}

export interface ManifestAttachment {
  fileId: string;
  kind: 'image' | 'document';
  tokens: number;
}

/** The alias summaries are written with, and what a user should know about it. */
export interface SummaryPlan {
  /** Null when no summary can be written (summaries off, or no alias large enough). */
  summaryModel: string | null;
  /** Why summaries use another alias than the conversation's, or why there are none. */
  note: string | null;
}

/** The short form carried by replies and their events. */
export interface ContextBrief {
  /** Stored messages sent: the history window and the new user message. */
  messages: number;
  /** Messages after the summary left out of the prompt (the next summary folds them in). */
  omitted: number;
  /** Messages the summary sent in the prompt stands for (0: no summary). */
  summarized: number;
  promptTokens: number;
}

export interface ManifestInput {
  alias: string;
  contextWindow: number;
  replyTokens: number;
  plan: PromptPlan;
  prompt: BuiltPrompt;
  window: ReadWindow;
  userMessageId: string;
  /** How many new messages the turn stored before its reply (tool results); 1 when absent. */
  inputCount?: number;
  /** The names of the function tools offered. */
  toolNames?: string[];
  attachments?: ManifestAttachment[];
  memory?: SummaryPlan;
}

export function buildContextManifest(input: ManifestInput): ContextManifest {
  const { plan, prompt, window } = input;
  const { mark, history } = window;
  return {
    model: input.alias,
    contextWindow: input.contextWindow,
    replyTokens: input.replyTokens,
    promptBudget: input.contextWindow - input.replyTokens,
    promptTokens: prompt.promptTokens,
    systemPrompt: { source: plan.systemPromptSource, tokens: prompt.parts.system },
    summary:
      mark?.kind === 'summary'
        ? {
            throughMessageId: mark.messageId,
            throughSeq: mark.seq,
            summarizedMessages: mark.summarizedCount,
            tokens: prompt.parts.summary,
          }
        : null,
    resetAfterMessageId: mark?.kind === 'reset' ? mark.messageId : null,
    history: {
      messages: history.length,
      firstMessageId: history[0]?.id ?? null,
      lastMessageId: history.at(-1)?.id ?? null,
      omitted: window.omitted,
      tokens: prompt.parts.history,
    },
    userMessage: {
      messageId: input.userMessageId,
      tokens: prompt.parts.userMessage,
      ...(input.inputCount !== undefined && input.inputCount !== 1 && { count: input.inputCount }),
    },
    ...(input.attachments?.length && { attachments: input.attachments }),
    ...(input.toolNames?.length && {
      tools: { names: input.toolNames, tokens: prompt.parts.tools },
    }),
    ...(input.memory && { memory: input.memory }),
  };
}

function isManifest(value: unknown): value is ContextManifest {
  const v = value as Partial<ContextManifest> | null;
  return typeof v === 'object' && v !== null && typeof v.history === 'object';
}

/** A stored manifest (messages.context), or null when the message has none. */
export function toContextManifest(stored: unknown): ContextManifest | null {
  return isManifest(stored) ? stored : null;
}

export function toContextBrief(stored: unknown): ContextBrief | null {
  const manifest = toContextManifest(stored);
  if (!manifest) return null;
  return {
    messages: manifest.history.messages + 1,
    omitted: manifest.history.omitted,
    summarized: manifest.summary?.summarizedMessages ?? 0,
    promptTokens: manifest.promptTokens,
  };
}
