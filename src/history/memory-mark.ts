import type { HistoryMessage } from '../prompts/prompt-manager';

/**
 * Where a conversation's memory stands after one message (a row of memory_marks): the
 * summary of everything up to it, or nothing at all (a reset: the memory starts afresh
 * after it). Keyed by the last message it covers, so it holds on every path through that
 * message; a turn uses the newest mark before it and sends only what comes after.
 */
export interface MemoryMark {
  messageId: string;
  seq: number;
  kind: 'summary' | 'reset';
  content: string;
  tokenCount: number;
  /** Messages folded into the summary since the conversation began or was last reset. */
  summarizedCount: number;
}

/** A message of a turn's window, with what identifies it. */
export interface WindowMessage extends HistoryMessage {
  id: string;
  seq: number;
  /** Carries files (message_attachments); set by a turn's window read. */
  attached?: boolean;
}

/** What a turn's window read: the messages sent, the mark before them, and what was left out. */
export interface ReadWindow {
  history: WindowMessage[];
  mark: MemoryMark | null;
  /**
   * Complete messages after the mark that did not fit (counted among the newest
   * HISTORY_MAX_ROWS + 1 read, so at least 1 whenever any was left out).
   */
  omitted: number;
}

/**
 * What a turn's window did not send, as the summary fold after the turn needs it: kept for
 * as long as the reply runs, so it holds two numbers rather than the messages read.
 */
export interface LeftOut {
  omitted: number;
  /** The seq of the oldest message the window sent (null: it sent none). */
  firstSeq: number | null;
}

export const leftOutOf = (window: ReadWindow): LeftOut => ({
  omitted: window.omitted,
  firstSeq: window.history[0]?.seq ?? null,
});
