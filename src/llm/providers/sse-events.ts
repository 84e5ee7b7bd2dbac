import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

/** One server-sent event: its `event:` name (null when none) and its `data:` lines joined. */
export interface SseEvent {
  event: string | null;
  data: string;
}

/**
 * Text/event-stream parsing as the openai and groq SDKs' Stream does it: `data:` lines
 * joined with newlines, `event:` names, comments and other fields ignored, an event ends
 * at an empty line (and at the end of the body).
 */
export class SseParser {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';
  private name: string | null = null;
  private data: string[] = [];

  constructor(private readonly onEvent: (event: SseEvent) => void) {}

  write(chunk: Buffer | string): void {
    this.pending += typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    let start = 0;
    for (let at = this.pending.indexOf('\n'); at >= 0; at = this.pending.indexOf('\n', start)) {
      this.line(this.pending.slice(start, at));
      start = at + 1;
    }
    this.pending = this.pending.slice(start);
  }

  end(): void {
    const rest = this.pending + this.decoder.end();
    this.pending = '';
    if (rest !== '') this.line(rest);
    this.line('');
  }

  private line(text: string): void {
    if (text.endsWith('\r')) text = text.slice(0, -1);
    if (text === '') {
      if (this.name === null && this.data.length === 0) return;
      const event = { event: this.name, data: this.data.join('\n') };
      this.name = null;
      this.data = [];
      this.onEvent(event);
      return;
    }
    if (text.startsWith(':')) return;
    const colon = text.indexOf(':');
    const field = colon < 0 ? text : text.slice(0, colon);
    let value = colon < 0 ? '' : text.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.name = value;
    else if (field === 'data') this.data.push(value);
  }
}

/**
 * Reads a text/event-stream body as its bytes arrive, calling `onEvent` for each event in
 * the same tick as the chunk that completed it; resolves at the end of the body, rejects
 * with the body's error (an abort included) or with what `onEvent` threw, which also ends
 * the body. An open stream waits in these listeners, instead of the SDKs' four nested
 * async generators with a promise each per chunk and their re-copied byte buffers.
 */
export function readSseEvents(body: Readable, onEvent: (event: SseEvent) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const parser = new SseParser(onEvent);
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
    const guarded = (work: () => void): void => {
      try {
        work();
      } catch (error) {
        settle(error instanceof Error ? error : new Error(String(error)));
      }
    };
    const onData = (chunk: Buffer | string): void => guarded(() => parser.write(chunk));
    const onEnd = (): void =>
      guarded(() => {
        parser.end();
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
