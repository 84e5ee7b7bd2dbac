import type { Response } from 'express';

export interface SseEvent {
  id: number;
  event: string;
  data: unknown;
}

/** Events pushed as they happen, and when they stop. */
export interface SseSource {
  /** Starts delivering events to `write`; returns the way to stop. */
  listen(write: (event: SseEvent) => void): () => void;
  done: Promise<unknown>;
}

export interface SseWriterOptions {
  heartbeatMs: number;
}

/**
 * Writes events to a text/event-stream response the moment they are pushed (no await
 * between the provider's chunk and the socket), with a heartbeat comment while the source
 * is silent. When the client goes away it stops listening, never the source itself: a
 * disconnect is not a cancel.
 */
export function writeSse(
  res: Response,
  source: SseSource,
  options: SseWriterOptions,
): Promise<void> {
  res.status(200);
  res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
  res.setHeader('Cache-Control', 'no-cache, no-transform');
  res.setHeader('Connection', 'keep-alive');
  res.setHeader('X-Accel-Buffering', 'no');
  res.flushHeaders();
  res.socket?.setNoDelay(true);

  return new Promise((resolve) => {
    let closed = false;
    let lastWrite = Date.now();
    const heartbeat = setInterval(
      () => {
        if (Date.now() - lastWrite >= options.heartbeatMs) {
          res.write(': heartbeat\n\n');
          lastWrite = Date.now();
        }
      },
      Math.max(50, Math.floor(options.heartbeatMs / 2)),
    );
    const stop = source.listen(({ id, event, data }) => {
      res.write(`id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      lastWrite = Date.now();
    });
    const finish = (): void => {
      if (closed) return;
      closed = true;
      clearInterval(heartbeat);
      stop();
      res.end();
      resolve();
    };
    res.on('close', finish);
    void source.done.then(finish);
  });
}
