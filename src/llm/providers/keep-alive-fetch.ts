import http, { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import https from 'node:https';

import type { RequestInit as NodeFetchInit } from 'node-fetch';

import { LlmException } from '../llm.errors';
import type { InlineInit } from './inline-data';

/**
 * How long an idle kept-alive socket waits for the next call. Besides closing idle sockets,
 * a non-zero `timeout` is what makes Node's agent honour a server's `Keep-Alive: timeout=N`
 * (it retires the socket a second before the server would): with no timeout (Node 20) it
 * ignores the hint, and a socket reused just as the server closes it fails the call with
 * ECONNRESET. 4 s, as undici's default, when the server gives no hint.
 */
const IDLE_SOCKET_MS = 4_000;
const httpAgent = new http.Agent({ keepAlive: true, timeout: IDLE_SOCKET_MS });
const httpsAgent = new https.Agent({ keepAlive: true, timeout: IDLE_SOCKET_MS });

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** What the SDKs read of a response's headers: `get`, and iteration for their logs. */
class ResponseHeaders {
  constructor(private readonly raw: IncomingHttpHeaders) {}

  get(name: string): string | null {
    const value = this.raw[name.toLowerCase()];
    if (value === undefined) return null;
    return Array.isArray(value) ? value.join(', ') : value;
  }

  has(name: string): boolean {
    return this.raw[name.toLowerCase()] !== undefined;
  }

  *entries(): IterableIterator<[string, string]> {
    for (const name of Object.keys(this.raw)) yield [name, this.get(name) ?? ''];
  }

  keys(): IterableIterator<string> {
    return Object.keys(this.raw)[Symbol.iterator]();
  }

  forEach(callback: (value: string, name: string) => void): void {
    for (const [name, value] of this.entries()) callback(value, name);
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }
}

/**
 * The part of a fetch Response the SDKs use: status, headers, the body as text or JSON,
 * or as the Node stream itself (async-iterable, which is how they read a stream of events).
 */
class NodeResponse {
  readonly status: number;
  readonly statusText: string;
  readonly ok: boolean;
  readonly headers: ResponseHeaders;
  readonly redirected = false;
  bodyUsed = false;

  constructor(
    readonly url: string,
    readonly body: IncomingMessage,
    private readonly maxBodyBytes: number,
  ) {
    this.status = body.statusCode ?? 0;
    this.statusText = body.statusMessage ?? '';
    this.ok = this.status >= 200 && this.status < 300;
    this.headers = new ResponseHeaders(body.headers);
  }

  async text(): Promise<string> {
    this.bodyUsed = true;
    const chunks: Buffer[] = [];
    let bytes = 0;
    for await (const chunk of this.body) {
      bytes += (chunk as Buffer).length;
      // A whole body is held at once: a server that never stops would take all the memory.
      if (bytes > this.maxBodyBytes) {
        this.body.destroy();
        throw new LlmException(
          'provider_error',
          `The upstream answered more than ${this.maxBodyBytes} bytes in one body (REPLY_MAX_CHARS sets the limit)`,
        );
      }
      chunks.push(chunk as Buffer);
    }
    return (chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)).toString('utf8');
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text()) as unknown;
  }
}

function abortError(): Error {
  const error = new Error('The operation was aborted.');
  error.name = 'AbortError';
  return error;
}

/**
 * The request's headers as Node's raw list (`[name, value, name, value, …]`), Host first:
 * given a list, node:http writes it as is and keeps no per-request map of the headers, which
 * an open stream would hold for its whole life. The SDKs pass a Headers object; a plain
 * record is taken too.
 */
function requestHeaders(url: URL, init: RequestInit, body: string[] | undefined): string[] {
  const headers: string[] = ['host', url.host];
  const add = (value: string, name: string): void => {
    if (name.toLowerCase() !== 'host') headers.push(name, value);
  };
  const given = init.headers;
  if (given instanceof Headers) given.forEach(add);
  else if (Array.isArray(given)) for (const [name, value] of given) add(value, name);
  else if (given)
    for (const [name, value] of Object.entries(given))
      for (const one of typeof value === 'string' ? [value] : value) add(one, name);
  if (body !== undefined) {
    const length = body.reduce((sum, piece) => sum + Buffer.byteLength(piece), 0);
    headers.push('content-length', String(length));
  }
  return headers;
}

/**
 * One request over node:http, answered with a NodeResponse. The signal aborts it at any
 * point, the body included, with an AbortError as fetch does.
 */
function send(
  url: string,
  init: RequestInit,
  body: string[] | undefined,
  maxBodyBytes: number,
): Promise<NodeResponse> {
  const signal = init.signal ?? undefined;
  if (signal?.aborted) return Promise.reject(abortError());
  const target = new URL(url);
  const secure = target.protocol === 'https:';
  const request = (secure ? https : http).request(target, {
    method: init.method ?? 'GET',
    headers: requestHeaders(target, init, body),
    agent: secure ? httpsAgent : httpAgent,
  });
  const response = responseTo(url, request, signal, maxBodyBytes);
  for (const piece of body ?? []) request.write(piece);
  request.end();
  return response;
}

/**
 * The response to a sent request. Its listeners live as long as the response does (a whole
 * streamed reply): they are made here, apart from `send`, so they hold the request and the
 * signal but not the request's body, the whole prompt.
 */
function responseTo(
  url: string,
  request: http.ClientRequest,
  signal: AbortSignal | undefined,
  maxBodyBytes: number,
): Promise<NodeResponse> {
  return new Promise((resolve, reject) => {
    let response: IncomingMessage | undefined;
    const onAbort = (): void => {
      const error = abortError();
      request.destroy(error);
      response?.destroy(error);
      reject(error);
    };
    const done = (): void => signal?.removeEventListener('abort', onAbort);
    signal?.addEventListener('abort', onAbort, { once: true });
    request.on('error', (error) => {
      done();
      reject(error);
    });
    request.once('response', (res) => {
      response = res;
      // Once the body is read or dropped, a late abort must not touch the reused socket.
      res.once('close', done);
      resolve(new NodeResponse(url, res, maxBodyBytes));
    });
  });
}

/** A text body in the pieces to write: stand-ins of inline data replaced (inline-data.ts). */
function bodyPieces(init: RequestInit & InlineInit): string[] | undefined {
  if (typeof init.body !== 'string') return undefined;
  return init.inlineData ? init.inlineData.pieces(init.body) : [init.body];
}

/**
 * node-fetch, loaded on first use: only a body that is not text and a redirect need it, and
 * with its URL parser it is ~0.4 MB of source a running service otherwise never reads.
 */
async function nodeFetch(): Promise<typeof import('node-fetch').default> {
  return (await import('node-fetch')).default;
}

/**
 * The `fetch` the provider SDKs are given: node:http with keep-alive agents, and a
 * response that hands the SDK Node's own stream. Global fetch (undici, WHATWG streams)
 * cost the SDK call about twice the CPU and several times the memory per open stream in
 * the benchmark (bench/), and node-fetch's Request, Headers and piped body copy most of
 * what node:http already parsed. Anything else than a text body, and redirects, go
 * through node-fetch as before. A body read whole (`text()`, `json()`) fails past
 * `maxBodyBytes`; a stream's events are read as they come.
 */
export const cappedKeepAliveFetch = (maxBodyBytes: number): typeof fetch =>
  (async (input: string | URL, init: RequestInit = {}) => {
    const url = input.toString();
    const nodeFetchInit = (): NodeFetchInit => ({
      ...(init as NodeFetchInit),
      agent: (parsed: URL) => (parsed.protocol === 'http:' ? httpAgent : httpsAgent),
    });
    if (init.body != null && typeof init.body !== 'string')
      return (await nodeFetch())(url, nodeFetchInit());
    const body = bodyPieces(init);
    const response = await send(url, init, body, maxBodyBytes);
    if (REDIRECTS.has(response.status) && response.headers.has('location')) {
      response.body.resume();
      return (await nodeFetch())(url, { ...nodeFetchInit(), body: body?.join('') });
    }
    return response;
  }) as unknown as typeof fetch;

/** Without a cap on whole bodies (benchmarks, tests of the transport). */
export const keepAliveFetch = cappedKeepAliveFetch(Infinity);
