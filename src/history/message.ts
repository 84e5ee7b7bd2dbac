import type { ToolCall } from '../llm/llm.types';

export type MessageRole = 'system' | 'user' | 'assistant' | 'tool';
/** `requires_action`: a reply that called the client's tools and waits for their results. */
export type MessageStatus = 'complete' | 'streaming' | 'failed' | 'cancelled' | 'requires_action';

/** A stored message as the application sees it, whichever query read it. */
export interface Message {
  id: string;
  conversationId: string;
  /** The message this one follows in the conversation's tree; null for a first message. */
  parentId: string | null;
  /** Position in the conversation; unique with conversationId, gives the total order. */
  seq: number;
  role: MessageRole;
  content: string;
  /** Reasoning split off the reply (`<think>…</think>`), never part of `content`. */
  reasoning: string | null;
  status: MessageStatus;
  /** Conservative token count of `content`, counted once when it was written. */
  tokenCount: number;
  /** The alias that answered (assistant messages). */
  model: string | null;
  upstreamModel: string | null;
  promptTokens: number | null;
  completionTokens: number | null;
  usageEstimated: boolean;
  latencyMs: number | null;
  ttftMs: number | null;
  finishReason: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  /** What the prompt of this reply held (a ContextManifest, jsonb); null for other messages. */
  context: unknown;
  createdAt: Date;
  completedAt: Date | null;
  /** The owner's rating of an assistant reply: `up` or `down`; null when unrated. */
  feedbackRating: string | null;
  feedbackComment: string | null;
  feedbackAt: Date | null;
  /** Who spoke (user messages), as sent; null when unnamed. */
  speakerName: string | null;
  /** Free-form string metadata of a user message (a flat object), as sent; null when none. */
  metadata: unknown;
  /** The tools an assistant reply called, in order; null when it called none. */
  toolCalls: ToolCall[] | null;
  /** A tool message: the call it is the result of. */
  toolCallId: string | null;
  /** The files a user message carries, in order; read apart from the row (absent: none read). */
  attachments?: MessageAttachment[];
}

/** A file a message carries, as the message list and the export show it. */
export interface MessageAttachment {
  id: string;
  filename: string;
  mimeType: string;
  bytes: number;
  kind: 'image' | 'document';
}

/** The columns that make a Message, for typed queries. */
export const MESSAGE_COLUMNS = [
  'id',
  'conversationId',
  'parentId',
  'seq',
  'role',
  'content',
  'reasoning',
  'status',
  'tokenCount',
  'model',
  'upstreamModel',
  'promptTokens',
  'completionTokens',
  'usageEstimated',
  'latencyMs',
  'ttftMs',
  'finishReason',
  'errorCode',
  'errorMessage',
  'context',
  'createdAt',
  'completedAt',
  'feedbackRating',
  'feedbackComment',
  'feedbackAt',
  'speakerName',
  'metadata',
  'toolCalls',
  'toolCallId',
] as const satisfies readonly (keyof Message)[];
