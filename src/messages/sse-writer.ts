import type { Response } from 'express';

export interface SseEvent {
  id: number;
  event: string;
  data: unknown;
}

export interface SseWriterOptions {
  heartbeatMs: number;
}

/**
 * Writes events to a text/event-stream response as they come, with a heartbeat comment
 * while the source is silent. Stops reading (never the source itself) when the client
 * goes away: a disconnect is not a cancel.
 */
export async function writeSse(
  res: Response,
  events: AsyncIterable<SseEvent>,
  options: SseWriterOptions,
): Promise<void> {
  res.status(200);
  res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
  res.setHeader('Cache-Control', 'no-cache, no-transform');
  res.setHeader('Connection', 'keep-alive');
  res.setHeader('X-Accel-Buffering', 'no');
  res.flushHeaders();
  res.socket?.setNoDelay(true);

  let closed = false;
  res.on('close', () => (closed = true));
  let lastWrite = Date.now();
  const heartbeat = setInterval(
    () => {
      if (!closed && Date.now() - lastWrite >= options.heartbeatMs) {
        res.write(': heartbeat\n\n');
        lastWrite = Date.now();
      }
    },
    Math.max(50, Math.floor(options.heartbeatMs / 2)),
  );

  try {
    for await (const { id, event, data } of events) {
      if (closed) break;
      res.write(`id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      lastWrite = Date.now();
    }
  } finally {
    clearInterval(heartbeat);
    if (!closed) res.end();
  }
}
