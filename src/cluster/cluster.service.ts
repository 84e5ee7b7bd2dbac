import os from 'node:os';

import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { Client } from 'pg';

import { newId } from '../common/ids';
import { AppConfig } from '../config/app-config';
import { PrismaService } from '../database/prisma.service';

type Handler = (payload: string) => void;

const RECONNECT_MS = 1000;

/**
 * This process among the others on the same database. One dedicated connection per
 * process carries its heartbeat (so a busy pool can never make a live process look dead)
 * and LISTENs for the signals other processes send (cancel, follow); signals are sent with
 * pg_notify on the pool. A signal only wakes a process: the durable rows it points at are
 * the truth, so a notification missed while reconnecting loses nothing.
 *
 * Its few statements (heartbeat, sign-off, LISTEN, pg_notify) are plain pg on purpose, not
 * Kysely in a repository: they belong to that connection (LISTEN holds for its session, and
 * the heartbeat must not wait for the pool) or are a signal rather than a query of data.
 */
@Injectable()
export class ClusterService implements OnModuleInit, OnApplicationShutdown {
  readonly processId = newId();
  private readonly logger = new Logger(ClusterService.name);
  private readonly handlers = new Map<string, Handler>();
  private client?: Client;
  private heartbeat?: NodeJS.Timeout;
  private stopped = false;
  /** The dedicated client runs one query at a time (pg deprecates overlapping ones). */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly prisma: PrismaService,
    private readonly config: AppConfig,
  ) {}

  /** Never fails start-up: with the database down, readiness says so and this reconnects. */
  async onModuleInit(): Promise<void> {
    try {
      await this.connect();
    } catch (error) {
      this.logger.warn({ err: error }, 'could not open the signal connection; retrying');
      void this.reconnect();
    }
    this.heartbeat = setInterval(() => void this.beat(), this.config.get('PROCESS_HEARTBEAT_MS'));
    this.heartbeat.unref();
  }

  /** Last: once gone, the others may take over whatever claim is still left. */
  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.heartbeat);
    try {
      await this.run('DELETE FROM processes WHERE id = $1', [this.processId]);
      await this.client?.end();
    } catch (error) {
      this.logger.warn({ err: error }, 'could not sign off from the database');
    }
  }

  /**
   * Calls `handler` with the payload of every notification on `channel`. Resolves once
   * the connection listens (or could not: it listens again when it reconnects).
   */
  on(channel: string, handler: Handler): Promise<void> {
    this.handlers.set(channel, handler);
    return this.run(`LISTEN ${this.quote(channel)}`).then(
      () => undefined,
      (error: unknown) => this.logger.warn({ err: error, channel }, 'could not listen'),
    );
  }

  async notify(channel: string, payload: string): Promise<void> {
    await this.prisma.pool.query('SELECT pg_notify($1, $2)', [channel, payload]);
  }

  /**
   * Sends a signal on the dedicated connection without waiting for it: no pool connection
   * and no round trip on the caller's path, and signals of this process go out in order.
   * One sent while the connection is away is dropped (the rows stay the truth).
   */
  signal(channel: string, payload: string): void {
    this.run('SELECT pg_notify($1, $2)', [channel, payload]).catch((error: unknown) => {
      this.logger.warn({ err: error, channel }, 'could not send a signal');
    });
  }

  private async connect(): Promise<void> {
    const client = new Client({ connectionString: this.config.databaseUrl });
    client.on('notification', (message) =>
      this.handlers.get(message.channel)?.(message.payload ?? ''),
    );
    client.on('error', (error) => this.lost(client, error));
    try {
      await client.connect();
    } catch (error) {
      client.end().catch(() => undefined);
      throw error;
    }
    await client.query(
      `INSERT INTO processes (id, host, pid) VALUES ($1, $2, $3)
       ON CONFLICT (id) DO UPDATE SET heartbeat_at = now()`,
      [this.processId, os.hostname().slice(0, 200), process.pid],
    );
    for (const channel of this.handlers.keys()) await client.query(`LISTEN ${this.quote(channel)}`);
    this.client = client;
  }

  private lost(client: Client, error: Error): void {
    if (this.client !== client || this.stopped) return;
    this.client = undefined;
    this.logger.warn({ err: error }, 'lost the signal connection; reconnecting');
    client.end().catch(() => undefined);
    void this.reconnect();
  }

  private async reconnect(): Promise<void> {
    while (!this.stopped && !this.client) {
      await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
      try {
        await this.connect();
        this.logger.log('signal connection restored');
      } catch (error) {
        this.logger.warn({ err: error }, 'could not reconnect the signal connection');
      }
    }
  }

  private async beat(): Promise<void> {
    try {
      // Re-inserts the row if a long outage got this process swept as dead.
      await this.run(
        `INSERT INTO processes (id, host, pid) VALUES ($1, $2, $3)
         ON CONFLICT (id) DO UPDATE SET heartbeat_at = now()`,
        [this.processId, os.hostname().slice(0, 200), process.pid],
      );
    } catch (error) {
      this.logger.warn({ err: error }, 'heartbeat failed');
    }
  }

  private run(text: string, values: unknown[] = []): Promise<unknown> {
    const client = this.client;
    if (!client) return Promise.resolve();
    const next = this.queue.then(() => client.query(text, values));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private quote(channel: string): string {
    return `"${channel.replace(/"/g, '""')}"`;
  }
}
