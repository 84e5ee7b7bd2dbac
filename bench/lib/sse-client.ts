import http from 'node:http';

import { createParser } from 'eventsource-parser';

export interface SseFrame {
  id: string | undefined;
  event: string | undefined;
  data: string;
  /** performance.now() when the bytes carrying it arrived. */
  at: number;
}

export interface SseStream {
  status: Promise<number>;
  frames: SseFrame[];
  /** Resolves once `count` frames of `event` (any event when omitted) have arrived. */
  waitFor(count: number, event?: string): Promise<void>;
  /** Resolves when the server ends the stream (or the connection fails). */
  ended: Promise<void>;
  close(): void;
}

export interface SseRequest {
  method: 'GET' | 'POST';
  body?: object;
  headers?: Record<string, string>;
  agent: http.Agent;
}

/**
 * A stream of our SSE protocol, any method, frames kept with their ids and arrival times:
 * for following a turn from another replica and timing what happens to it.
 */
export function openSse(url: string, request: SseRequest): SseStream {
  const frames: SseFrame[] = [];
  const waiters = new Set<() => void>();
  const parser = createParser({
    onEvent: (e) => {
      frames.push({ id: e.id, event: e.event, data: e.data, at: performance.now() });
      for (const check of waiters) check();
    },
  });
  const payload = request.body === undefined ? undefined : JSON.stringify(request.body);
  const req = http.request(url, {
    method: request.method,
    agent: request.agent,
    headers: {
      Accept: 'text/event-stream',
      ...(payload ? { 'Content-Type': 'application/json' } : {}),
      ...request.headers,
    },
  });
  let setStatus: (status: number) => void = () => undefined;
  const status = new Promise<number>((resolve) => (setStatus = resolve));
  const ended = new Promise<void>((resolve) => {
    req.on('error', () => resolve());
    req.on('response', (res) => {
      setStatus(res.statusCode ?? 0);
      res.setEncoding('utf8');
      res.on('data', (text: string) => parser.feed(text));
      res.on('end', () => resolve());
      res.on('error', () => resolve());
    });
  });
  let done = false;
  void ended.then(() => {
    done = true;
    setStatus(0);
    for (const check of waiters) check();
  });
  req.end(payload);
  const waitFor = (count: number, event?: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const seen = frames.filter((f) => event === undefined || f.event === event).length;
        if (seen >= count) {
          waiters.delete(check);
          resolve();
        } else if (done) {
          waiters.delete(check);
          reject(new Error(`stream ended after ${frames.length} frames, before ${count} ${event}`));
        }
      };
      waiters.add(check);
      check();
    });
  return { status, frames, waitFor, ended, close: () => req.destroy() };
}
