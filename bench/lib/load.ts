import http from 'node:http';

import autocannon from 'autocannon';
import { createParser } from 'eventsource-parser';
import type { EventSourceMessage } from 'eventsource-parser';

export interface LoadResult {
  /** Latency of each 2xx response, ms (full resolution, not autocannon's 1 ms buckets). */
  latencies: number[];
  /** 2xx responses that arrived within the run's duration. */
  okInWindow: number;
  durationSec: number;
  /** Non-2xx responses, connection errors and timeouts. */
  errors: number;
  statusCodes: Record<string, number>;
}

export interface LoadOptions {
  origin: string;
  connections: number;
  durationSec: number;
  /** POST unless told; a GET sends no body. */
  method?: 'GET' | 'POST';
  body?: string;
  /** Fixed path, or a path per conversation drawn from a pool no other request is using. */
  path: string | ((conversationId: string) => string);
  /** With a conversation pool: the body per conversation (a body naming it), else `body`. */
  bodyFor?: (conversationId: string) => string;
  conversations?: string[];
}

/**
 * Drives whole-reply turns (or reads) with autocannon. With a conversation pool each request
 * takes a conversation nobody else is using and gives it back with its response, so with at
 * least as many conversations as connections no request ever finds its conversation busy.
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const free = [...(options.conversations ?? [])];
  const pathFor = options.path;
  const method = options.method ?? 'POST';
  const request: autocannon.Request =
    typeof pathFor === 'string'
      ? { method, path: pathFor }
      : {
          method,
          setupRequest: (req, context) => {
            const id = free.shift() ?? options.conversations?.[0] ?? '';
            context.conversation = id;
            const body = options.bodyFor?.(id);
            return { ...req, path: pathFor(id), ...(body !== undefined && { body }) };
          },
          onResponse: (_status, _body, context) => {
            if (typeof context.conversation === 'string') free.push(context.conversation);
          },
        };
  const latencies: number[] = [];
  const statusCodes: Record<string, number> = {};
  let okInWindow = 0;
  const started = performance.now();
  const end = started + options.durationSec * 1000;
  const instance = autocannon({
    url: options.origin,
    connections: options.connections,
    duration: options.durationSec,
    sampleInt: 100,
    timeout: 30,
    headers: options.body === undefined ? {} : { 'content-type': 'application/json' },
    body: options.body,
    requests: [request],
  });
  instance.on('response', (_client, statusCode, _bytes, responseTime) => {
    statusCodes[statusCode] = (statusCodes[statusCode] ?? 0) + 1;
    if (statusCode >= 200 && statusCode < 300) {
      latencies.push(responseTime);
      if (performance.now() <= end) okInWindow++;
    }
  });
  const result = await instance;
  return {
    latencies,
    okInWindow,
    durationSec: options.durationSec,
    errors: result.non2xx + result.errors,
    statusCodes,
  };
}

export interface StreamObservation {
  status: number;
  /** Request sent → first content delta, ms. */
  ttftMs: number | null;
  totalMs: number;
  deltas: number;
  /** The stream ended with message.completed (or [DONE] upstream). */
  completed: boolean;
  /** For stamped chunks: arrival − upstream send time, µs, one per chunk. */
  chunkDelaysUs: number[];
}

export interface StreamOptions {
  agent: http.Agent;
  /** 'service' parses our SSE protocol (the floor speaks it too); 'direct' the upstream's. */
  protocol: 'service' | 'direct';
  stamps?: boolean;
  /** Called once the stream is open (message.created, or the first upstream chunk). */
  onOpen?: () => void;
}

const STAMP = /@(\d+)/g;

function contentOf(data: string): string | null {
  const chunk = JSON.parse(data) as { choices?: { delta?: { content?: string | null } }[] };
  return chunk.choices?.[0]?.delta?.content ?? null;
}

/** When the latest bytes of a stream arrived, on both clocks. */
interface Arrival {
  ms: number;
  ns: bigint;
}

/** POSTs one streamed turn and reads it with a real SSE parser as it arrives. */
export function streamTurn(
  url: string,
  body: object,
  options: StreamOptions,
): Promise<StreamObservation> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const observation: StreamObservation = {
      status: 0,
      ttftMs: null,
      totalMs: 0,
      deltas: 0,
      completed: false,
      chunkDelaysUs: [],
    };
    const arrival: Arrival = { ms: 0, ns: 0n };
    const parser = createParser({ onEvent: observer(observation, options, started, arrival) });
    const req = http.request(url, {
      method: 'POST',
      agent: options.agent,
      headers: {
        'Content-Type': 'application/json',
        'Content-Length': Buffer.byteLength(payload),
        Accept: 'text/event-stream',
      },
    });
    req.setTimeout(120_000, () => req.destroy(new Error('stream timed out')));
    req.on('error', reject);
    req.on('response', (res) => {
      observation.status = res.statusCode ?? 0;
      res.setEncoding('utf8');
      res.on('data', (text: string) => {
        arrival.ns = process.hrtime.bigint();
        arrival.ms = performance.now();
        if (observation.status === 200) parser.feed(text);
      });
      res.on('end', () => {
        observation.totalMs = performance.now() - started;
        resolve(observation);
      });
      res.on('error', reject);
    });
    req.end(payload);
  });
}

/** Records each SSE event of a stream in `observation`, timed by the bytes' `arrival`. */
function observer(
  observation: StreamObservation,
  options: StreamOptions,
  started: number,
  arrival: Arrival,
): (event: EventSourceMessage) => void {
  let opened = false;
  const open = (): void => {
    if (!opened) {
      opened = true;
      options.onOpen?.();
    }
  };
  const onDelta = (text: string): void => {
    observation.ttftMs ??= arrival.ms - started;
    observation.deltas++;
    if (options.stamps) {
      for (const match of text.matchAll(STAMP)) {
        observation.chunkDelaysUs.push(Number(arrival.ns - BigInt(match[1])) / 1000);
      }
    }
  };
  return (event) => {
    if (options.protocol === 'direct') {
      open();
      if (event.data === '[DONE]') observation.completed = true;
      else {
        const text = contentOf(event.data);
        if (text) onDelta(text);
      }
      return;
    }
    switch (event.event) {
      case 'message.created':
        open();
        break;
      case 'message.delta':
        onDelta((JSON.parse(event.data) as { delta: string }).delta);
        break;
      case 'message.completed':
        observation.completed = true;
        break;
    }
  };
}
