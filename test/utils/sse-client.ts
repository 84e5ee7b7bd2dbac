import http from 'node:http';

import { createParser, EventSourceMessage } from 'eventsource-parser';

export interface SseStream {
  status: number;
  headers: http.IncomingHttpHeaders;
  events: EventSourceMessage[];
  /** Resolves when the connection closes, whoever closed it. */
  ended: Promise<void>;
  /** Resolves once an event of this type has arrived. */
  waitFor(type: string): Promise<EventSourceMessage>;
}

/** POSTs JSON over a real socket and parses the answer with a real SSE parser as it arrives. */
export function postSse(url: string, body: unknown): Promise<SseStream> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream' },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      const events: EventSourceMessage[] = [];
      const waiters: { type: string; resolve: (e: EventSourceMessage) => void }[] = [];
      const parser = createParser({
        onEvent: (event) => {
          events.push(event);
          for (const w of waiters.filter((w) => w.type === event.event)) w.resolve(event);
        },
      });
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => parser.feed(chunk));
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        events,
        ended: new Promise((done) => res.on('close', () => done())),
        waitFor: (type) =>
          new Promise((found) => {
            const seen = events.find((e) => e.event === type);
            if (seen) found(seen);
            else waiters.push({ type, resolve: found });
          }),
      });
    });
    req.end(JSON.stringify(body));
  });
}
