import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';

import {
  BeforeApplicationShutdown,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Application } from 'express';
import proxyAddr from 'proxy-addr';
import { WebSocket, WebSocketServer } from 'ws';

import { AuthFailureLimiter } from '../auth/auth-failure-limiter';
import { AuthService, UnauthorizedException } from '../auth/auth.service';
import { LOCAL_OWNER } from '../auth/current-owner.decorator';
import { ChatService } from '../chat';
import { OwnerEvents } from '../cluster/owner-events';
import { AppException } from '../common/errors/app.exception';
import { correlationIdFrom } from '../common/http/correlation-id.middleware';
import { CorsPolicy } from '../common/http/cors';
import { AppConfig } from '../config/app-config';
import { ShutdownState } from '../lifecycle/shutdown-state';
import { MetricsService } from '../metrics/metrics.service';
import { API_PREFIX } from '../common/http/api-prefix';
import { ChatSocket, CLOSE_GRACE_MS, shuttingDown, SocketContext } from './chat-socket';
import { MessageLimiter } from './message-limiter';
import { selectProtocol, socketCredentials } from './socket-credentials';
import { refuseUpgrade } from './upgrade-refusal';

export const WEBSOCKET_PATH = `/${API_PREFIX}/ws`;

/** Who opened a socket, and from where. */
interface Client {
  owner: string;
  ip: string;
  /** Whom limits count: the owner, or the address of an anonymous client. */
  limitKey: string;
}

/**
 * The WebSocket door: `GET /api/v1/ws` upgraded on the HTTP server's own port. It decides
 * who connects before upgrading (a refused client gets the HTTP error), keeps the sockets
 * alive with pings, and closes them (1001) when the app stops, after their turns ended.
 */
@Injectable()
export class ChatSocketServer
  implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown
{
  private readonly logger = new Logger('WebSocket');
  private readonly wss: WebSocketServer;
  private readonly sockets = new Set<ChatSocket>();
  /** Open sockets (and upgrades under way) per limit key, for WS_MAX_SOCKETS_PER_CLIENT. */
  private readonly openPerClient = new Map<string, number>();
  private readonly origins: CorsPolicy;
  private context?: SocketContext;
  private httpServer?: Server;
  private pinger?: NodeJS.Timeout;
  private deadline?: NodeJS.Timeout;
  private stopping = false;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly chat: ChatService,
    private readonly events: OwnerEvents,
    private readonly auth: AuthService,
    private readonly authFailures: AuthFailureLimiter,
    private readonly limiter: MessageLimiter,
    private readonly lifecycle: ShutdownState,
    private readonly config: AppConfig,
    metrics: MetricsService,
  ) {
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      maxPayload: config.get('BODY_LIMIT_BYTES'),
      handleProtocols: selectProtocol,
    });
    this.origins = new CorsPolicy(config.pick('CORS_ORIGINS', 'AUTH_MODE', 'HOST'));
    metrics.watchWebSockets(() => ({
      connections: this.sockets.size,
      bufferedBytes: [...this.sockets].reduce((sum, socket) => sum + socket.bufferedBytes, 0),
    }));
  }

  onApplicationBootstrap(): void {
    this.context = {
      chat: this.chat,
      events: this.events,
      limiter: this.limiter,
      logger: this.logger,
      maxBufferedBytes: this.config.get('WS_MAX_BUFFERED_BYTES'),
      draining: () => this.lifecycle.isDraining,
    };
    // An application context without HTTP (a script, a service-level test) has no door.
    const adapter = this.adapterHost.httpAdapter as HttpAdapterHost['httpAdapter'] | undefined;
    if (!adapter) return;
    this.httpServer = adapter.getHttpServer() as Server;
    this.httpServer.on('upgrade', this.onUpgrade);
    this.pinger = setInterval(() => {
      for (const socket of this.sockets) socket.heartbeat();
    }, this.config.get('WS_PING_MS')).unref();
  }

  /**
   * Runs before the turns are drained. Idle sockets close now; streaming ones once their
   * turns end (ChatService finishes or stops them within SHUTDOWN_TIMEOUT_MS), since the
   * HTTP server cannot close while a socket is open. One too slow to take its last events
   * is cut off after that.
   */
  beforeApplicationShutdown(): void {
    this.stopping = true;
    for (const socket of this.sockets) socket.shutdown();
    this.deadline = setTimeout(
      () => this.sockets.forEach((socket) => socket.terminate()),
      this.config.get('SHUTDOWN_TIMEOUT_MS') + CLOSE_GRACE_MS,
    ).unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.pinger);
    clearTimeout(this.deadline);
    this.httpServer?.off('upgrade', this.onUpgrade);
    this.sockets.forEach((socket) => socket.terminate());
    this.wss.close();
  }

  private readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    void this.upgrade(req, socket, head);
  };

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const correlationId = correlationIdFrom(req.headers['x-correlation-id']);
    // Until ws takes the socket over, its errors (a client gone mid-handshake) are ours.
    const destroy = (): void => void socket.destroy();
    socket.on('error', destroy);
    let client: Client;
    try {
      client = await this.admit(req);
    } catch (error) {
      refuseUpgrade(socket, this.asAppException(error, correlationId), correlationId);
      return;
    }
    socket.off('error', destroy);
    if (socket.destroyed) return;
    if (!this.takeSlot(client.limitKey, socket)) {
      const max = this.config.get('WS_MAX_SOCKETS_PER_CLIENT');
      const error = new AppException(
        'too_many_sockets',
        `At most ${max} WebSockets may be open at once per user; close one, or stream several conversations over one socket`,
        { retryAfter: 1 },
      );
      refuseUpgrade(socket, error, correlationId);
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, client, correlationId));
  }

  /** Who may open this socket: the right path, a running server, an allowed page, credentials. */
  private async admit(req: IncomingMessage): Promise<Client> {
    const url = req.url ?? '/';
    if (new URL(url, 'http://localhost').pathname !== WEBSOCKET_PATH)
      throw new AppException('not_found', `No WebSocket here; connect to ${WEBSOCKET_PATH}`);
    if (this.lifecycle.isDraining) throw shuttingDown();
    // Browsers apply no CORS to WebSockets: the door applies HTTP's rule itself. Clients that
    // send no Origin (servers, CLIs) are not browsers and cannot be abused by a page.
    const origin = req.headers.origin;
    if (origin !== undefined && !this.origins.allows(origin, req.headers.host))
      throw new AppException(
        'origin_not_allowed',
        `Origin ${req.headers.origin} may not open this WebSocket; add it to CORS_ORIGINS`,
      );
    // Failed authentications are limited per address, as over HTTP.
    const ip = this.clientAddress(req);
    this.authFailures.assertAllowed(ip);
    try {
      const owner = await this.auth.authenticateCredentials(socketCredentials(req.headers, url));
      return { owner, ip, limitKey: owner === LOCAL_OWNER ? `ip:${ip}` : `owner:${owner}` };
    } catch (error) {
      if (error instanceof UnauthorizedException)
        throw (await this.authFailures.recordFailure(ip)) ?? error;
      throw error;
    }
  }

  /** The client's address as Express's req.ip gives it, behind TRUST_PROXY proxies. */
  private clientAddress(req: IncomingMessage): string {
    const express = this.adapterHost.httpAdapter.getInstance<Application>();
    return proxyAddr(req, express.get('trust proxy fn') as (addr: string, i: number) => boolean);
  }

  /**
   * Counts the socket against its client's limit until the connection closes (whether the
   * handshake completes or not); false when the client has no slot left.
   */
  private takeSlot(limitKey: string, connection: Duplex): boolean {
    const open = this.openPerClient.get(limitKey) ?? 0;
    if (open >= this.config.get('WS_MAX_SOCKETS_PER_CLIENT')) return false;
    this.openPerClient.set(limitKey, open + 1);
    connection.once('close', () => {
      const left = (this.openPerClient.get(limitKey) ?? 1) - 1;
      if (left > 0) this.openPerClient.set(limitKey, left);
      else this.openPerClient.delete(limitKey);
    });
    return true;
  }

  private accept(ws: WebSocket, { owner, limitKey }: Client, connectionId: string): void {
    if (!this.context) throw new Error('the WebSocket door accepts sockets once the app started');
    const socket = new ChatSocket(ws, { owner, limitKey, connectionId }, this.context);
    this.sockets.add(socket);
    ws.on('close', () => this.sockets.delete(socket));
    if (this.stopping) socket.shutdown();
  }

  private asAppException(error: unknown, correlationId: string): AppException {
    if (error instanceof AppException) return error;
    this.logger.error({ err: error, correlationId }, 'websocket upgrade failed');
    return new AppException(
      'internal_error',
      `Something went wrong on our side; report correlation id ${correlationId}`,
    );
  }
}
