import type { Message } from '../generated/prisma/client';

export type ChatEvent =
  | { type: 'message.created'; userMessage: Message; assistantMessageId: string }
  | { type: 'message.delta'; delta: string }
  | { type: 'message.reasoning'; delta: string }
  | { type: 'message.completed'; assistantMessage: Message }
  | {
      type: 'error';
      code: string;
      message: string;
      status: number;
      assistantMessage: Message | null;
    };

/** Why a generation was stopped from outside (cancel, deadline, shutdown, lost claim). */
export class TurnStop extends Error {
  constructor(
    readonly status: 'cancelled' | 'failed',
    readonly code: string,
    message: string,
    readonly httpStatus: number,
  ) {
    super(message);
  }
}

export interface TurnOutcome {
  userMessage: Message;
  assistantMessage: Message | null;
  error: { code: string; message: string; status: number } | null;
}

/**
 * One running turn. It runs on its own, whoever listens: the HTTP layer subscribes to its
 * events and may go away (a disconnect is not a cancel). Events are kept for the turn's
 * life so a late or returning subscriber replays them from any point.
 */
export class Generation {
  readonly events: ChatEvent[] = [];
  readonly abortController = new AbortController();
  /** Answer text so far (reasoning excluded). */
  text = '';
  reasoning = '';
  private ended = false;
  private readonly listeners = new Set<(index: number, event: ChatEvent) => void>();
  private resolveOutcome!: (outcome: TurnOutcome) => void;
  readonly outcome: Promise<TurnOutcome> = new Promise(
    (resolve) => (this.resolveOutcome = resolve),
  );

  constructor(
    readonly conversationId: string,
    readonly assistantMessageId: string,
    readonly alias: string,
    readonly startedAt = new Date(),
  ) {}

  get signal(): AbortSignal {
    return this.abortController.signal;
  }

  get done(): boolean {
    return this.ended;
  }

  stop(reason: TurnStop): void {
    if (!this.ended && !this.signal.aborted) this.abortController.abort(reason);
  }

  push(event: ChatEvent): void {
    if (event.type === 'message.delta') this.text += event.delta;
    if (event.type === 'message.reasoning') this.reasoning += event.delta;
    const index = this.events.push(event) - 1;
    // Listeners are called synchronously: a delta reaches the socket in the same tick.
    for (const listener of this.listeners) listener(index, event);
  }

  end(outcome: TurnOutcome): void {
    this.ended = true;
    this.listeners.clear();
    this.resolveOutcome(outcome);
  }

  /**
   * Calls `listener` for each event from index `from` on: those already pushed at once,
   * later ones as they are pushed, until the turn ends. Returns the way to stop listening.
   */
  listen(from: number, listener: (index: number, event: ChatEvent) => void): () => void {
    for (let index = from; index < this.events.length; index++) listener(index, this.events[index]);
    if (this.ended) return () => undefined;
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** Finished turns replayed for an idempotent retry look like a generation that already ended. */
export function finishedGeneration(
  userMessage: Message,
  assistantMessage: Message,
  error: TurnOutcome['error'],
): Generation {
  const generation = new Generation(
    userMessage.conversationId,
    assistantMessage.id,
    assistantMessage.model ?? '',
  );
  generation.push({
    type: 'message.created',
    userMessage,
    assistantMessageId: assistantMessage.id,
  });
  if (assistantMessage.content)
    generation.push({ type: 'message.delta', delta: assistantMessage.content });
  generation.push(
    error
      ? { type: 'error', ...error, assistantMessage }
      : { type: 'message.completed', assistantMessage },
  );
  generation.end({ userMessage, assistantMessage, error });
  return generation;
}
