import type { IncomingHttpHeaders } from 'node:http';

import WebSocket from 'ws';

/** Parsed JSON the specs assert on. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

/** A message from the server, as JSON. */
export interface SocketMessage {
  type: string;
  id?: number;
  conversationId?: string;
  requestId?: string;
  data: Json;
}

export interface SocketOptions {
  /** Subprotocols offered (e.g. ['chat.v1', 'bearer.<token>']). */
  protocols?: string[];
  headers?: Record<string, string>;
  /** Appended to the URL, e.g. 'access_token=…'. */
  query?: string;
  /** Another path than /api/v1/ws. */
  path?: string;
  /** Answer the server's pings (the default, as every client library does). */
  autoPong?: boolean;
}

const TURN_EVENTS = new Set([
  'message.created',
  'message.reasoning',
  'message.delta',
  'message.completed',
]);

export function socketUrl(origin: string, query?: string, path = '/api/v1/ws'): string {
  return `${origin.replace(/^http/, 'ws')}${path}${query ? `?${query}` : ''}`;
}

/** A real `ws` client on the WebSocket door, recording what it receives. */
export class TestSocket {
  readonly messages: SocketMessage[] = [];
  /** Resolves with the close code and reason (1006 when the connection was cut). */
  readonly closed: Promise<{ code: number; reason: string }>;
  private readonly waiters: { match: (m: SocketMessage) => boolean; found: () => void }[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const message = JSON.parse((data as Buffer).toString('utf8')) as SocketMessage;
      this.messages.push(message);
      for (const waiter of this.waiters.filter((w) => w.match(message))) waiter.found();
    });
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
  }

  /** Opens a socket and resolves once it is open; rejects when the upgrade is refused. */
  static open(origin: string, options: SocketOptions = {}): Promise<TestSocket> {
    const ws = new WebSocket(
      socketUrl(origin, options.query, options.path),
      options.protocols ?? [],
      {
        headers: options.headers,
        autoPong: options.autoPong ?? true,
      },
    );
    const socket = new TestSocket(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(socket));
      ws.once('error', reject);
    });
  }

  send(message: Record<string, unknown>): void {
    this.ws.send(JSON.stringify(message));
  }

  /** The first message matching, already received or still to come. */
  waitFor(match: (m: SocketMessage) => boolean, timeoutMs = 10_000): Promise<SocketMessage> {
    const seen = this.messages.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(`no such message in ${timeoutMs} ms; got ${JSON.stringify(this.types())}`),
          ),
        timeoutMs,
      );
      this.waiters.push({
        match,
        found: () => {
          clearTimeout(timer);
          resolve(this.messages.find(match)!);
        },
      });
    });
  }

  /** The first message of this type (for this conversation, when given). */
  waitForType(type: string, conversationId?: string): Promise<SocketMessage> {
    return this.waitFor(
      (m) =>
        m.type === type && (conversationId === undefined || m.conversationId === conversationId),
    );
  }

  /** Resolves with the turn's last event (completed, or its error event) on this conversation. */
  turnEnd(conversationId: string): Promise<SocketMessage> {
    return this.waitFor(
      (m) =>
        m.conversationId === conversationId &&
        m.id !== undefined &&
        (m.type === 'message.completed' || m.type === 'error'),
    );
  }

  /** The turn events received for a conversation (request errors excluded). */
  events(conversationId: string): SocketMessage[] {
    return this.messages.filter(
      (m) =>
        m.conversationId === conversationId &&
        m.id !== undefined &&
        (TURN_EVENTS.has(m.type) || m.type === 'error'),
    );
  }

  /** The streamed answer of a conversation (or its reasoning). */
  text(conversationId: string, type = 'message.delta'): string {
    return this.events(conversationId)
      .filter((m) => m.type === type)
      .map((m) => (m.data as { delta: string }).delta)
      .join('');
  }

  types(): string[] {
    return this.messages.map((m) => m.type);
  }

  close(): Promise<{ code: number; reason: string }> {
    this.ws.close();
    return this.closed;
  }
}

/** The HTTP answer to an upgrade the server refuses. */
export function refusedUpgrade(
  origin: string,
  options: SocketOptions = {},
): Promise<{ status: number; headers: IncomingHttpHeaders; body: Json }> {
  const ws = new WebSocket(
    socketUrl(origin, options.query, options.path),
    options.protocols ?? [],
    {
      headers: options.headers,
    },
  );
  return new Promise((resolve, reject) => {
    ws.once('open', () => {
      ws.close();
      reject(new Error('the upgrade was accepted'));
    });
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(text) }),
      );
    });
  });
}
