import type { Logger } from '@nestjs/common';
import { RawData, WebSocket } from 'ws';

import { toolResultsInput, turnEventSource } from '../chat';
import type { ChatService } from '../chat';
import type { TurnEventFrame } from '../chat';
import type { OwnerEvents } from '../cluster/owner-events';
import { AppException } from '../common/errors/app.exception';
import { validatePlain } from '../common/errors/validation';
import { toMessageResponse } from '../messages';
import {
  CancelFrameDto,
  EditFrameDto,
  EventsFrameDto,
  RegenerateFrameDto,
  ResumeFrameDto,
  SendMessageFrameDto,
  ToolResultsFrameDto,
} from './dto/client-messages.dto';
import type { MessageLimiter } from './message-limiter';
import {
  ClientMessage,
  echoOf,
  invalidMessage,
  parseClientMessage,
  requestError,
  ServerMessage,
} from './socket-messages';

/** Close codes (RFC 6455 §7.4.1 and IANA's registry). */
export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_TRY_AGAIN_LATER = 1013;
/** A peer that does not answer our close frame within this is cut off. */
export const CLOSE_GRACE_MS = 5000;

const TERMINAL_EVENTS = new Set(['message.completed', 'error']);

/** A turn as ChatService hands it out: running here, or mirrored from another process. */
type FollowedTurn = Parameters<typeof turnEventSource>[0];

/** What every socket shares: the chat, the limiter, the settings, whether the app stops. */
export interface SocketContext {
  chat: ChatService;
  events: OwnerEvents;
  limiter: MessageLimiter;
  logger: Logger;
  maxBufferedBytes: number;
  /** The process is shutting down: no new turns. */
  draining(): boolean;
}

/** What HTTP answers while draining, for a new socket or a new turn. */
export function shuttingDown(): AppException {
  return new AppException(
    'shutting_down',
    'This server is shutting down and takes no new work; reconnect and retry in a moment',
    { retryAfter: 1 },
  );
}

export interface SocketIdentity {
  owner: string;
  /** Whose message budget this socket spends: the owner's, or its address when anonymous. */
  limitKey: string;
  connectionId: string;
}

/** Where a follower sends its frames, and how it learns that the socket can take more. */
interface Outlet {
  sendFrame(conversationId: string, event: TurnEventFrame): void;
  readonly congested: boolean;
  whenDrained(resume: () => void): void;
}

/**
 * Forwards one turn's events to a socket from an event index on. While the socket's buffer
 * is over its bound it stops listening and later listens again from where it stopped: the
 * turn keeps its events, so a slow client costs no memory here and loses nothing.
 */
class TurnFollower {
  private stopListening?: () => void;
  private halted = true;
  private stopped = false;

  constructor(
    private readonly conversationId: string,
    private readonly turn: FollowedTurn,
    private next: number,
    private readonly outlet: Outlet,
    private readonly correlationId: string,
    private readonly ended: () => void,
  ) {}

  follow(): void {
    if (this.stopped) return;
    this.halted = false;
    const stop = turnEventSource(this.turn, this.next, this.correlationId).listen((event) =>
      this.forward(event),
    );
    // listen() replays past events before it returns: forward() may have halted already.
    if (this.halted) stop();
    else this.stopListening = stop;
  }

  stop(): void {
    this.stopped = true;
    this.halt();
  }

  private forward(event: TurnEventFrame): void {
    if (this.halted) return;
    this.next++;
    this.outlet.sendFrame(this.conversationId, event);
    if (TERMINAL_EVENTS.has(event.event)) {
      this.halt();
      this.ended();
    } else if (this.outlet.congested) {
      this.halt();
      this.outlet.whenDrained(() => this.follow());
    }
  }

  private halt(): void {
    this.halted = true;
    this.stopListening?.();
    this.stopListening = undefined;
  }
}

/**
 * One WebSocket connection: JSON requests in, turn events out. Each request is answered on
 * its own (several conversations stream at once); a failed one gets an `error` message and
 * the socket stays open. Closing the socket stops the forwarding, never the turns.
 */
export class ChatSocket implements Outlet {
  private readonly followers = new Map<string, TurnFollower>();
  private readonly drainWaiters: (() => void)[] = [];
  private readonly openedAt = Date.now();
  private alive = true;
  private closeWhenIdle = false;
  private received = 0;
  /** Set while this socket is subscribed to its owner's events. */
  private stopEvents?: () => void;

  constructor(
    private readonly ws: WebSocket,
    private readonly identity: SocketIdentity,
    private readonly context: SocketContext,
  ) {
    ws.on('message', (data, isBinary) => void this.receive(data, isBinary));
    ws.on('pong', () => (this.alive = true));
    // Protocol errors (e.g. a message over the size limit) close the socket; ws reports them here.
    ws.on('error', (error) =>
      context.logger.debug({ err: error, connectionId: identity.connectionId }, 'websocket error'),
    );
    ws.on('close', (code) => this.closed(code));
  }

  get bufferedBytes(): number {
    return this.ws.bufferedAmount;
  }

  get congested(): boolean {
    return this.ws.bufferedAmount > this.context.maxBufferedBytes;
  }

  /** Every WS_PING_MS: a peer that did not answer the previous ping is cut off. */
  heartbeat(): void {
    if (!this.alive) {
      this.ws.terminate();
      return;
    }
    this.alive = false;
    this.ws.ping();
  }

  /** On shutdown: closes (1001) now when nothing streams, else once the last stream ended. */
  shutdown(): void {
    this.closeWhenIdle = true;
    if (this.followers.size === 0) this.close(CLOSE_GOING_AWAY, 'Server shutting down');
  }

  terminate(): void {
    this.ws.terminate();
  }

  sendFrame(conversationId: string, { id, event, data }: TurnEventFrame): void {
    this.write({ type: event, id, conversationId, data });
  }

  whenDrained(resume: () => void): void {
    this.drainWaiters.push(resume);
  }

  private close(code: number, reason: string): void {
    this.ws.close(code, reason);
    setTimeout(() => this.ws.terminate(), CLOSE_GRACE_MS).unref();
  }

  private closed(code: number): void {
    for (const follower of this.followers.values()) follower.stop();
    this.followers.clear();
    this.stopEvents?.();
    this.drainWaiters.length = 0;
    const { connectionId } = this.identity;
    const durationMs = Date.now() - this.openedAt;
    this.context.logger.log(
      { connectionId, code, durationMs, messages: this.received },
      'websocket closed',
    );
  }

  private write(message: ServerMessage): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    this.ws.send(JSON.stringify(message), this.flushed);
  }

  /** Called as each frame leaves for the network: paused streams go on once half is out. */
  private readonly flushed = (error?: Error): void => {
    if (error || this.drainWaiters.length === 0) return;
    if (this.ws.bufferedAmount > this.context.maxBufferedBytes / 2) return;
    for (const resume of this.drainWaiters.splice(0)) resume();
  };

  /**
   * Answers to requests are small and rate-limited, so they are sent even while streams
   * pause; a client that keeps asking without reading is closed before it costs more.
   */
  private reply(message: ServerMessage): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    if (this.ws.bufferedAmount > 2 * this.context.maxBufferedBytes) {
      this.close(CLOSE_TRY_AGAIN_LATER, 'Too much unread data; reconnect and resume');
      return;
    }
    this.write(message);
  }

  private async receive(data: RawData, isBinary: boolean): Promise<void> {
    this.received++;
    const { message, error: invalid } = parseClientMessage(data, isBinary);
    try {
      // Invalid messages count against the limit too.
      await this.context.limiter.take(this.identity.limitKey);
      if (invalid) throw invalid;
      if (message) await this.handle(message);
    } catch (error) {
      this.reply(
        requestError(this.asAppException(error), echoOf(message), this.identity.connectionId),
      );
    }
  }

  private async handle(raw: ClientMessage): Promise<void> {
    switch (raw.type) {
      case 'message.send':
        return this.send(await validatePlain(SendMessageFrameDto, raw));
      case 'message.regenerate':
        return this.branch(await validatePlain(RegenerateFrameDto, raw));
      case 'message.edit':
        return this.branch(await validatePlain(EditFrameDto, raw));
      case 'message.toolResults':
        return this.toolResults(await validatePlain(ToolResultsFrameDto, raw));
      case 'cancel':
        return this.cancel(await validatePlain(CancelFrameDto, raw));
      case 'resume':
        return this.resume(await validatePlain(ResumeFrameDto, raw));
      case 'events.subscribe':
      case 'events.unsubscribe':
        return this.subscription(await validatePlain(EventsFrameDto, raw));
      default:
        throw invalidMessage(
          `Unknown message type ${JSON.stringify(raw.type)}; send message.send, message.regenerate, message.edit, message.toolResults, cancel or resume, or events.subscribe or events.unsubscribe`,
        );
    }
  }

  private async send(request: SendMessageFrameDto): Promise<void> {
    if (this.context.draining()) throw shuttingDown();
    const { conversationId, message, name, metadata, model, params, attachments } = request;
    const { idempotencyKey, lastEventId, tools, toolChoice, serverTools } = request;
    const input = {
      ...{ message, name, metadata, model, params, tools, toolChoice, serverTools, attachments },
      mode: 'stream',
      idempotencyKey,
    } as const;
    const { turn, from } = await this.context.chat.startStream(
      this.identity.owner,
      conversationId,
      { ...input, correlationId: this.identity.connectionId },
      lastEventId ?? 0,
    );
    this.follow(conversationId, turn, from);
  }

  /** A regenerate or an edit: a turn that branches the conversation (see BranchesController). */
  private async branch(request: RegenerateFrameDto | EditFrameDto): Promise<void> {
    if (this.context.draining()) throw shuttingDown();
    const { conversationId, messageId, model, params, idempotencyKey, lastEventId } = request;
    const { tools, toolChoice, serverTools } = request;
    const edit = request.type === 'message.edit';
    const { turn, from } = await this.context.chat.startStream(
      this.identity.owner,
      conversationId,
      {
        message: edit ? request.message : null,
        ...(edit
          ? { name: request.name, metadata: request.metadata, attachments: request.attachments }
          : {}),
        branch: { anchor: edit ? 'edit' : 'regenerate', messageId },
        ...{ model, params, tools, toolChoice, serverTools, mode: 'stream', idempotencyKey },
        correlationId: this.identity.connectionId,
      },
      lastEventId ?? 0,
    );
    this.follow(conversationId, turn, from);
  }

  /** Tool results for a waiting reply: the next reply streams here (see ToolResultsController). */
  private async toolResults(request: ToolResultsFrameDto): Promise<void> {
    if (this.context.draining()) throw shuttingDown();
    const { conversationId, messageId, idempotencyKey, lastEventId } = request;
    const { turn, from } = await this.context.chat.startStream(
      this.identity.owner,
      conversationId,
      toolResultsInput(messageId, request, 'stream', idempotencyKey, this.identity.connectionId),
      lastEventId ?? 0,
    );
    this.follow(conversationId, turn, from);
  }

  private async cancel({ conversationId, requestId }: CancelFrameDto): Promise<void> {
    const message = await this.context.chat.cancel(this.identity.owner, conversationId);
    this.reply({
      type: 'cancelled',
      conversationId,
      requestId,
      data: { assistantMessage: message && toMessageResponse(message) },
    });
  }

  private async resume({ conversationId, lastEventId }: ResumeFrameDto): Promise<void> {
    const { turn, from } = await this.context.chat.follow(
      this.identity.owner,
      conversationId,
      lastEventId ?? 0,
    );
    this.follow(conversationId, turn, from);
  }

  /** The owner's events (GET /events) as `{ type, data }` frames, until unsubscribed or closed. */
  private async subscription({ type, requestId }: EventsFrameDto): Promise<void> {
    this.stopEvents?.();
    this.stopEvents = undefined;
    if (type === 'events.subscribe') {
      this.stopEvents = this.context.events.subscribe(this.identity.owner, (event) =>
        this.write({ type: event.type, data: event.data }),
      );
      // Acknowledged once the other replicas can know of it, as GET /events opens.
      await this.context.events.listening(this.identity.owner);
    }
    this.reply({
      type: type === 'events.subscribe' ? 'events.subscribed' : 'events.unsubscribed',
      requestId,
    });
  }

  /** Streams the turn here; a resume replaces this socket's earlier follower of the conversation. */
  private follow(conversationId: string, turn: FollowedTurn, from: number): void {
    // The client left while the turn was starting: the turn goes on, stored as usual.
    if (this.ws.readyState !== WebSocket.OPEN) return;
    this.followers.get(conversationId)?.stop();
    const { connectionId } = this.identity;
    const follower: TurnFollower = new TurnFollower(
      conversationId,
      turn,
      from,
      this,
      connectionId,
      () => {
        if (this.followers.get(conversationId) === follower) this.followers.delete(conversationId);
        if (this.closeWhenIdle && this.followers.size === 0)
          this.close(CLOSE_GOING_AWAY, 'Server shutting down');
      },
    );
    this.followers.set(conversationId, follower);
    follower.follow();
  }

  private asAppException(error: unknown): AppException {
    if (error instanceof AppException) return error;
    this.context.logger.error(
      { err: error, connectionId: this.identity.connectionId },
      'websocket request failed',
    );
    return new AppException(
      'internal_error',
      `Something went wrong on our side; report correlation id ${this.identity.connectionId}`,
    );
  }
}
