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
  private wake: (() => void) | null = null;
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
    this.events.push(event);
    this.notify();
  }

  end(outcome: TurnOutcome): void {
    this.ended = true;
    this.notify();
    this.resolveOutcome(outcome);
  }

  /** Events from index `from` on, waiting for new ones until the turn ends. */
  async *subscribe(from = 0): AsyncGenerator<{ index: number; event: ChatEvent }> {
    let index = from;
    for (;;) {
      while (index < this.events.length) {
        yield { index, event: this.events[index] };
        index++;
      }
      if (this.ended) return;
      await new Promise<void>((resolve) => {
        const previous = this.wake;
        this.wake = () => {
          previous?.();
          resolve();
        };
      });
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
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
