import { AppException } from '../common/errors/app.exception';
import type { ConversationUpdate } from '../conversations';
import type { Message } from '../history/message';
import type { ToolCall } from '../llm/llm.types';

export type ChatEvent =
  /** `userMessage`: what the reply answers (after tool results, the last of `toolMessages`). */
  | {
      type: 'message.created';
      userMessage: Message;
      assistantMessageId: string;
      toolMessages?: Message[];
    }
  /**
   * The reply called a tool: the client runs it and sends its result (docs/tools.md), or,
   * for a server tool (`server`), the service runs it and a `tool.result` follows.
   */
  | { type: 'tool.call'; assistantMessageId: string; toolCall: ToolCall; server: boolean }
  | {
      type: 'tool.result';
      assistantMessageId: string;
      toolCallId: string;
      output: string;
      isError: boolean;
    }
  | { type: 'message.delta'; delta: string }
  | { type: 'message.reasoning'; delta: string }
  | { type: 'message.completed'; assistantMessage: Message }
  /** The conversation got a generated title while this turn's stream was open. */
  | { type: 'conversation.updated'; conversation: ConversationUpdate }
  | { type: 'error'; failure: AppException; assistantMessage: Message | null };

/** How a turn ended: the stored messages, and the failure if it did not complete. */
export interface TurnOutcome {
  userMessage: Message;
  assistantMessage: Message | null;
  failure: AppException | null;
}

/** Ids reserved for each turn's events (one per upstream chunk, so never reached in practice). */
const EVENTS_PER_TURN = 1_000_000;

/** The id of a turn's event: unique and increasing across the turns of a conversation. */
export function eventId(turnSeq: number, index: number): number {
  return turnSeq * EVENTS_PER_TURN + index + 1;
}

/**
 * Where a turn's events resume after `lastEventId`: 0 for an id of an earlier turn,
 * undefined for an id of no turn up to this one.
 */
export function eventIndexAfter(turnSeq: number, lastEventId: number): number | undefined {
  const seq = Math.floor((lastEventId - 1) / EVENTS_PER_TURN);
  if (seq < turnSeq) return 0;
  if (seq > turnSeq) return undefined;
  return lastEventId - eventId(turnSeq, 0) + 1;
}

/**
 * One running turn. It runs on its own, whoever listens: the HTTP layer subscribes to its
 * events and may go away (a disconnect is not a cancel). Events are kept for the turn's
 * life so a late or returning subscriber replays them from any point.
 */
export class Turn {
  /** Indexed as the event ids go; a hole is an event a replay cannot rebuild (never sent). */
  readonly events: (ChatEvent | undefined)[] = [];
  private readonly abortController = new AbortController();
  /** Answer text so far (reasoning excluded). */
  text = '';
  reasoning = '';
  /** A replay that sent the whole text as one delta: its ids are not the first stream's. */
  wholeText = false;
  private ended = false;
  private readonly listeners = new Set<(index: number, event: ChatEvent) => void>();
  private resolveOutcome!: (outcome: TurnOutcome) => void;
  readonly outcome: Promise<TurnOutcome> = new Promise(
    (resolve) => (this.resolveOutcome = resolve),
  );

  constructor(
    readonly conversationId: string,
    readonly assistantMessageId: string,
    /** The assistant message's seq: it places this turn's event ids after every earlier turn's. */
    readonly seq: number,
    readonly alias: string,
    readonly startedAt = new Date(),
  ) {}

  /**
   * Event ids are unique and increasing across the turns of a conversation, so a client
   * resuming with an id from an earlier turn is given this turn from its start.
   */
  eventId(index: number): number {
    return eventId(this.seq, index);
  }

  indexAfter(lastEventId: number): number | undefined {
    return eventIndexAfter(this.seq, lastEventId);
  }

  /** Aborted when the turn is stopped from outside; its reason is the failure to store. */
  get signal(): AbortSignal {
    return this.abortController.signal;
  }

  get done(): boolean {
    return this.ended;
  }

  /** Stops the turn (cancel, deadline, shutdown, lost claim); the first reason wins. */
  stop(reason: AppException): void {
    if (!this.ended && !this.signal.aborted) this.abortController.abort(reason);
  }

  push(event: ChatEvent): void {
    let kept = event;
    if (event.type === 'message.delta' || event.type === 'message.reasoning') {
      const field = event.type === 'message.delta' ? 'text' : 'reasoning';
      const start = this[field].length;
      this[field] += event.delta;
      // Kept as a place in the text, not a copy of it: a turn holds its text once.
      kept = new TextSlice(event.type, this, field, start, this[field].length);
    }
    const index = this.events.push(kept) - 1;
    // Listeners are called synchronously: a delta reaches the socket in the same tick.
    for (const listener of this.listeners) listener(index, event);
  }

  /** Leaves event index free: a replayed turn keeps the ids its events first had. */
  skip(): void {
    this.events.push(undefined);
  }

  /** Pushes the closing event and settles the outcome. */
  end(outcome: TurnOutcome): void {
    const { assistantMessage, failure } = outcome;
    this.push(
      failure || !assistantMessage
        ? {
            type: 'error',
            failure: failure ?? new AppException('internal_error', 'The reply was not stored'),
            assistantMessage,
          }
        : { type: 'message.completed', assistantMessage },
    );
    this.ended = true;
    this.listeners.clear();
    this.resolveOutcome(outcome);
  }

  /**
   * Calls `listener` for each event from index `from` on: those already pushed at once,
   * later ones as they are pushed, until the turn ends. Returns the way to stop listening.
   */
  listen(from: number, listener: (index: number, event: ChatEvent) => void): () => void {
    for (let index = from; index < this.events.length; index++) {
      const event = this.events[index];
      if (event) listener(index, event);
    }
    if (this.ended) return () => undefined;
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** A delta event kept by its turn: its text is read from the turn's when asked for. */
export class TextSlice {
  constructor(
    readonly type: 'message.delta' | 'message.reasoning',
    private readonly turn: Turn,
    readonly field: 'text' | 'reasoning',
    private readonly start: number,
    /** Where the delta ends in the turn's text (or reasoning). */
    readonly end: number,
  ) {}

  get delta(): string {
    return this.turn[this.field].slice(this.start, this.end);
  }
}
