import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

import { createParser, type EventSourceParser } from 'eventsource-parser';

/** One server-sent event: its `event:` name (null when none) and its `data:` lines joined. */
export interface SseEvent {
  event: string | null;
  data: string;
}

/**
 * The most text one event (or one unfinished line) may hold before the stream is refused:
 * an upstream that never ends a line would otherwise grow the buffer without bound. A
 * chunk is a token or a tool call's arguments; a whole reply is at most REPLY_MAX_CHARS.
 */
export const MAX_EVENT_CHARS = 16 * 1024 * 1024;

/**
 * Reads a text/event-stream body as its bytes arrive, calling `onEvent` for each event in
 * the same tick as the chunk that completed it (eventsource-parser: `data:` lines joined
 * with newlines, comments and other fields skipped); the last event ends at the end of
 * the body, blank line or not, as the SDKs' Stream has it. Resolves at the end of the
 * body; rejects with the body's error (an abort included), with what `onEvent` threw, or
 * for an event over MAX_EVENT_CHARS, and then destroys the body. An open stream waits in
 * these listeners, instead of the SDKs' four nested async generators with a promise each
 * per chunk and their re-copied byte buffers.
 */
export function readSseEvents(body: Readable, onEvent: (event: SseEvent) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const decoder = new StringDecoder('utf8');
    let settled = false;
    const settle = (error?: Error): void => {
      if (settled) return;
      settled = true;
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', settle);
      body.off('close', onClose);
      if (!error) return resolve();
      body.destroy();
      reject(error);
    };
    const parser: EventSourceParser = createParser({
      maxBufferSize: MAX_EVENT_CHARS,
      onEvent: ({ event, data }) => onEvent({ event: event ?? null, data }),
      onError: (error) => {
        if (error.type === 'max-buffer-size-exceeded')
          settle(new Error(`the stream sent an event of over ${MAX_EVENT_CHARS} characters`));
      },
    });
    const guarded = (work: () => void): void => {
      try {
        work();
      } catch (error) {
        settle(error instanceof Error ? error : new Error(String(error)));
      }
    };
    const onData = (chunk: Buffer | string): void =>
      guarded(() => parser.feed(typeof chunk === 'string' ? chunk : decoder.write(chunk)));
    const onEnd = (): void =>
      guarded(() => {
        // Two line ends finish a last line and event the body left open (none if it did not).
        parser.feed(`${decoder.end()}\n\n`);
        settle();
      });
    // A body that closes without ending or failing was cut (Node reports most cuts as errors).
    const onClose = (): void => settle(new Error('the response body closed before its end'));
    body.on('data', onData);
    body.once('end', onEnd);
    body.once('error', settle);
    body.once('close', onClose);
  });
}
