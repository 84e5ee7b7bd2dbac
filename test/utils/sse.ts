import http from 'node:http';

import { createParser, EventSourceMessage } from 'eventsource-parser';

export type SseEvent = EventSourceMessage;

/** An event stream read over a real socket with a real parser, as it arrives. */
export interface SseStream {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Events so far (all of them once `ended` resolved). */
  events: SseEvent[];
  comments: string[];
  /** Resolves when the connection closes (the server ended the stream, or `disconnect()`). */
  ended: Promise<void>;
  /** Resolves with the first event of this type, already arrived or still to come. */
  waitFor(type: string): Promise<SseEvent>;
  /** Closes the connection from the client side. */
  disconnect(): void;
}

export interface SseRequest {
  method?: 'GET' | 'POST';
  /** Sent as JSON. */
  body?: unknown;
  headers?: Record<string, string>;
}

/** Opens `url` and resolves once the response head has arrived; any status is resolved. */
export function openSse(url: string, request: SseRequest = {}): Promise<SseStream> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: request.method ?? 'POST',
      headers: {
        Accept: 'text/event-stream',
        ...(request.body === undefined ? {} : { 'Content-Type': 'application/json' }),
        ...request.headers,
      },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      const events: SseEvent[] = [];
      const comments: string[] = [];
      const waiters: { type: string; resolve: (event: SseEvent) => void }[] = [];
      const parser = createParser({
        onEvent: (event) => {
          events.push(event);
          for (const waiter of waiters.filter((w) => w.type === event.event)) waiter.resolve(event);
        },
        onComment: (comment) => comments.push(comment),
      });
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => parser.feed(chunk));
      const ended = new Promise<void>((done) => res.on('close', () => done()));
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        events,
        comments,
        ended,
        waitFor: (type) =>
          new Promise((found) => {
            const seen = events.find((e) => e.event === type);
            if (seen) found(seen);
            else waiters.push({ type, resolve: found });
          }),
        disconnect: () => req.destroy(),
      });
    });
    req.end(request.body === undefined ? undefined : JSON.stringify(request.body));
  });
}

/** Parses a whole event-stream body (e.g. supertest's `res.text`). */
export function parseSse(text: string): { events: SseEvent[]; comments: string[] } {
  const events: SseEvent[] = [];
  const comments: string[] = [];
  const parser = createParser({
    onEvent: (event) => events.push(event),
    onComment: (comment) => comments.push(comment),
  });
  parser.feed(text);
  return { events, comments };
}

/** The `delta` fields of one event type joined: the streamed answer (or reasoning). */
export function streamedText(events: readonly SseEvent[], type = 'message.delta'): string {
  return events
    .filter((e) => e.event === type)
    .map((e) => (JSON.parse(e.data) as { delta: string }).delta)
    .join('');
}
