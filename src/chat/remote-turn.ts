import type { TurnEventFrame, TurnEventSource } from './turn-events';
import { eventIndexAfter } from './turn';

/**
 * A turn running on another process, mirrored here from the events that process
 * publishes while someone follows it from elsewhere: the same frames, the same ids.
 */
export class RemoteTurn {
  readonly frames: TurnEventFrame[] = [];
  private readonly listeners = new Set<(frame: TurnEventFrame) => void>();
  private finish!: () => void;
  readonly done = new Promise<void>((resolve) => (this.finish = resolve));
  ended = false;

  constructor(
    readonly assistantMessageId: string,
    readonly seq: number,
  ) {}

  /** Appends a frame; one already held (a batch read twice: signal and poll) is dropped. */
  push(frame: TurnEventFrame): void {
    const last = this.frames.at(-1);
    if (this.ended || (last && frame.id <= last.id)) return;
    this.frames.push(frame);
    for (const listener of this.listeners) listener(frame);
    if (frame.event === 'message.completed' || frame.event === 'error') {
      this.ended = true;
      this.listeners.clear();
      this.finish();
    }
  }

  /** Frames from index `from` on, then live ones until the turn ends. */
  source(from: number): TurnEventSource {
    return {
      listen: (write) => {
        this.frames.slice(from).forEach(write);
        if (this.ended) return () => undefined;
        const live = (frame: TurnEventFrame): void => {
          if (this.frames.length > from) write(frame);
        };
        this.listeners.add(live);
        return () => this.listeners.delete(live);
      },
      done: this.done,
    };
  }

  indexAfter(lastEventId: number): number | undefined {
    return eventIndexAfter(this.seq, lastEventId);
  }
}
