import type { Response } from 'express';

import type { TurnEventSource } from './turn-events';

export interface SseWriterOptions {
  heartbeatMs: number;
}

/** An open stream as the heartbeat sees it. */
interface Beating {
  lastWrite: number;
  res: Response;
}

/**
 * One timer for every open stream with the same heartbeat period, instead of one each: a
 * thousand streams cost one tick that walks them, not a thousand timers.
 */
class Heartbeat {
  private readonly streams = new Set<Beating>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly periodMs: number) {}

  join(stream: Beating): () => void {
    this.streams.add(stream);
    if (!this.timer) {
      this.timer = setInterval(() => this.beat(), Math.max(50, Math.floor(this.periodMs / 2)));
      // Open streams keep the process busy through their sockets, not through this timer.
      this.timer.unref();
    }
    return () => {
      this.streams.delete(stream);
      if (this.streams.size === 0 && this.timer) {
        clearInterval(this.timer);
        this.timer = undefined;
      }
    };
  }

  private beat(): void {
    const now = Date.now();
    for (const stream of this.streams) {
      if (now - stream.lastWrite < this.periodMs) continue;
      stream.res.write(': heartbeat\n\n');
      stream.lastWrite = now;
    }
  }
}

const heartbeats = new Map<number, Heartbeat>();

function heartbeatFor(periodMs: number): Heartbeat {
  let heartbeat = heartbeats.get(periodMs);
  if (!heartbeat) {
    heartbeat = new Heartbeat(periodMs);
    heartbeats.set(periodMs, heartbeat);
  }
  return heartbeat;
}

/**
 * Writes events to a text/event-stream response the moment they are pushed (no await
 * between the provider's chunk and the socket), with a heartbeat comment while the source
 * is silent. When the client goes away it stops listening, never the source itself: a
 * disconnect is not a cancel.
 *
 * It returns once the stream is open, not when it ends: a promise pending for the stream's
 * life would keep the whole request's call chain (router, guards, pipes, handler) alive
 * with it. What an open stream holds is its listener on the source, its 'close' listener
 * and its place in the heartbeat.
 */
export function writeSse(res: Response, source: TurnEventSource, options: SseWriterOptions): void {
  res.status(200);
  res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
  res.setHeader('Cache-Control', 'no-cache, no-transform');
  res.setHeader('Connection', 'keep-alive');
  res.setHeader('X-Accel-Buffering', 'no');
  res.socket?.setNoDelay(true);

  // Sent alone, the header block is written (and flattened) as it is; sent with the first
  // event, Node writes a copy and keeps its own ~100-piece string for the response's life.
  if (!source.ready) res.flushHeaders();
  const stream: Beating = { lastWrite: Date.now(), res };
  const leave = heartbeatFor(options.heartbeatMs).join(stream);
  const stop = source.listen(({ id, event, data }) => {
    res.write(`id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    stream.lastWrite = Date.now();
  });
  if (source.ready) void source.ready().then(() => res.flushHeaders());
  let closed = false;
  const finish = (): void => {
    if (closed) return;
    closed = true;
    leave();
    stop();
    res.off('close', finish);
    res.end();
  };
  res.on('close', finish);
  void source.done.then(finish);
}
