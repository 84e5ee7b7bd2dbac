import type { HistoryWindow } from '../prompts/prompt-manager';

import type { ToolCall, ToolDefinition } from '../llm/llm.types';

/**
 * Where a turn attaches to the conversation's tree: after the current leaf (a send), as a
 * sibling of a user message (edit), as a new reply to a stored user message (regenerate),
 * after a reply waiting for its tools' results (tool_results), which it stores, or after
 * any stored message (after: a new branch when it is not the leaf).
 */
export type TurnAnchor = 'leaf' | 'edit' | 'regenerate' | 'tool_results' | 'after';

/** What the client's tool returned for one call of a waiting reply. */
export interface ToolResult {
  toolCallId: string;
  output: string;
}

/**
 * The stored message a regenerated turn answers again: a user message, or the last tool
 * result of a step (the prompt's history then ends with it and adds nothing).
 */
export interface AnsweredMessage {
  id: string;
  role: 'user' | 'tool';
  content: string;
  tokenCount: number;
  /** Who spoke it, sent again as its `name`. */
  speakerName: string | null;
}

/** What a successful claim returns: the conversation's settings as of this turn. */
export interface ClaimedConversation {
  /** The new user message's seq (unused by a regenerate, which stores none). */
  userSeq: number;
  /** The reply's seq. */
  replySeq: number;
  /** The message before this turn's user message: its parent, and where the history ends. */
  parentId: string | null;
  systemPrompt: string | null;
  model: string | null;
  temperature: number | null;
  topP: number | null;
  maxTokens: number | null;
  seed: number | null;
  /** The conversation's default function tools, and the MCP server tools it opted into. */
  tools: ToolDefinition[] | null;
  serverTools: string[];
  /** The assistant message of an expired claim this one replaced, if any. */
  previousTurnId: string | null;
}

export type ClaimOutcome =
  /** `running`: the owner's live claims other than this one when it was taken. */
  | {
      kind: 'claimed';
      conversation: ClaimedConversation;
      /** The user message a regenerate answers again (null otherwise). */
      answered: AnsweredMessage | null;
      /** The calls of the reply whose tool results this turn stores (null otherwise). */
      waiting: ToolCall[] | null;
      running: number;
    }
  | { kind: 'not_found' }
  /** The anchor message is not in this conversation. */
  | { kind: 'message_not_found' }
  /** The anchor message has the wrong role for its anchor (an assistant message to edit). */
  | { kind: 'wrong_role' }
  | { kind: 'busy' }
  | { kind: 'limit' }
  /** `messageId`: the message holding the Idempotency-Key (the user message, or a regenerated reply). */
  | { kind: 'replay'; messageId: string; requestHash: string | null };

export interface ClaimTurn {
  ownerId: string;
  conversationId: string;
  turnId: string;
  idempotencyKey: string | null;
  /** This process, which holds the claim while it beats. */
  processId: string;
  /** A holder silent this long is dead and its claim free. */
  deadAfterMs: number;
  /** The owner's replies running at once, across all processes, before this one. */
  maxPerOwner: number;
  anchor: TurnAnchor;
  /** The message an edit, a regenerate, tool results or an after name; null for a send. */
  anchorId: string | null;
  /** A server tool step's turn taking the conversation over from the step before (its id). */
  handoverFrom: string | null;
  /** How many messages the turn stores before its reply: 1 (a user message), 0 (a regenerate), or one per tool result. */
  inputCount: number;
}

export interface BeginTurn {
  /** The conversation's owner, stored on each message (search asks for an owner's matches). */
  ownerId: string;
  conversationId: string;
  turnId: string;
  userMessageId: string;
  userSeq: number;
  replySeq: number;
  /** The new user message's parent; the history is the path ending here. */
  parentId: string | null;
  content: string;
  /** Who spoke, and the message's metadata, as sent (null when absent). */
  speakerName: string | null;
  metadata: Record<string, string> | null;
  tokenCount: number;
  alias: string;
  idempotencyKey: string | null;
  requestHash: string | null;
  previousTurnId: string | null;
  window: HistoryWindow;
  /** message_attachments rows of the user message, as JSON (`[]` when none): see attachmentRowsJson. */
  attachmentsJson: string;
}

/** A tool message a turn stores before its reply, answering a call of the reply it follows. */
export interface ToolMessageRow {
  id: string;
  parentId: string;
  seq: number;
  toolCallId: string;
  content: string;
  tokenCount: number;
}

/** Tool results' turn: `parentId` is the waiting reply, `userMessageId` the last result. */
export interface BeginToolResults extends BeginTurn {
  results: ToolMessageRow[];
}

export interface FinishTurn {
  conversationId: string;
  turnId: string;
  status: 'complete' | 'failed' | 'cancelled' | 'requires_action';
  content: string;
  /** The tools the reply called; null when none. */
  toolCalls: ToolCall[] | null;
  reasoning: string | null;
  tokenCount: number;
  upstreamModel: string | null;
  promptTokens: number | null;
  completionTokens: number | null;
  usageEstimated: boolean;
  latencyMs: number;
  ttftMs: number | null;
  finishReason: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  /** The alias that answered: the one asked for, or the fallback that took over. */
  alias: string;
  /** Give the conversation back (false: a server tool step keeps it for the next step). */
  release: boolean;
  /** The reply's ContextManifest (what its prompt held). */
  context: object;
  /** Where each of its events ended in the text (see stream-marks.ts); empty when unknown. */
  streamMarks: number[];
}

/** A running reply's text so far, to checkpoint. */
export interface Checkpoint {
  turnId: string;
  content: string;
  reasoning: string;
}

/** How a reply whose process stopped before it finished is stored. */
export const INTERRUPTED = {
  status: 'failed',
  errorCode: 'turn_interrupted',
  errorMessage: 'The process running this turn stopped before it finished',
} as const;

/** A concurrent turn stored the same Idempotency-Key first (its claim raced this one's). */
export class IdempotencyKeyTakenError extends Error {}
