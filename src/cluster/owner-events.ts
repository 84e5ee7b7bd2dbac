import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';

import { AppConfig } from '../config/app-config';
import { ClusterService } from './cluster.service';
import { EventListenersRepository, LISTENERS_CHANGED_CHANNEL } from './event-listeners.repository';

/** One owner-level event: what changed in the owner's conversations, from any process. */
export interface OwnerEvent {
  type: string;
  /** Ids and small fields only (never message text): a notification holds < 8000 bytes. */
  data: object;
}

type Listener = (event: OwnerEvent) => void;

const CHANNEL = 'owner_events';
/** PostgreSQL refuses a NOTIFY payload of 8000 bytes or more. */
const MAX_PAYLOAD_BYTES = 7900;
/** Catches a missed `event_listeners_changed`, and drops owners nobody listens to any more. */
const RELOAD_MS = 10_000;

/**
 * Owner-scoped events across replicas: a publisher sends `{ ownerId, type, data }` on one
 * NOTIFY channel, fire-and-forget on the process's signal connection, and every process
 * hands what it hears to its own subscribers of that owner. Nothing is stored: a client
 * that was away refetches what it shows, and the rows are the truth.
 *
 * Publishing costs nothing while no process has a subscriber for the owner: each process
 * records the owners it has subscribers for in `event_listeners` and announces a new one
 * on `event_listeners_changed`; every process keeps the set of owners listened to
 * anywhere from those announcements, reloaded every few seconds in case one was missed.
 */
@Injectable()
export class OwnerEvents implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(OwnerEvents.name);
  private readonly byOwner = new Map<string, Set<Listener>>();
  /** Owners with subscribers on some process, as last heard: no other owner is published. */
  private listened = new Set<string>();
  /** Owners announced while a reload runs: its rows may predate them. */
  private heardDuringReload?: Set<string>;
  /** The pending writes of each owner's row, in order (never rejects). */
  private readonly registrations = new Map<string, Promise<void>>();
  /** Owners whose row could not be written; retried at each reload. */
  private readonly unregistered = new Set<string>();
  private timer?: NodeJS.Timeout;
  private resolveClosed!: () => void;
  /** Resolves when this process stops serving subscribers (shutdown): clients reconnect. */
  readonly closed = new Promise<void>((resolve) => (this.resolveClosed = resolve));
  private closing = false;

  constructor(
    private readonly cluster: ClusterService,
    private readonly listeners: EventListenersRepository,
    private readonly config: AppConfig,
  ) {}

  /** Listening first, then loading: an owner announced in between is not missed. */
  async onApplicationBootstrap(): Promise<void> {
    await Promise.all([
      this.cluster.on(CHANNEL, (payload) => this.deliver(payload)),
      this.cluster.on(LISTENERS_CHANGED_CHANNEL, (ownerId) => this.heard(ownerId)),
    ]);
    await this.reload();
    this.timer = setInterval(() => void this.reload(), RELOAD_MS);
    this.timer.unref();
  }

  /**
   * Draining: open streams end now so that their clients reconnect to another replica.
   * This process's rows go when it signs off (with its `processes` row).
   */
  onModuleDestroy(): void {
    clearInterval(this.timer);
    this.closing = true;
    this.byOwner.clear();
    this.resolveClosed();
  }

  publish(ownerId: string, type: string, data: object): void {
    if (!this.byOwner.has(ownerId) && !this.listened.has(ownerId)) return;
    const payload = JSON.stringify({ ownerId, type, data });
    if (Buffer.byteLength(payload) > MAX_PAYLOAD_BYTES) {
      this.logger.error({ type, bytes: Buffer.byteLength(payload) }, 'owner event too large');
      return;
    }
    this.cluster.signal(CHANNEL, payload);
  }

  /** Calls `listener` with each event of the owner, until the returned stop is called. */
  subscribe(ownerId: string, listener: Listener): () => void {
    if (this.closing) return () => undefined;
    let listeners = this.byOwner.get(ownerId);
    if (!listeners) {
      this.byOwner.set(ownerId, (listeners = new Set()));
      this.register(ownerId);
    }
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0 && this.byOwner.get(ownerId) === listeners) {
        this.byOwner.delete(ownerId);
        this.register(ownerId);
      }
    };
  }

  /**
   * Resolves once every process can know of this process's subscribers to the owner (its
   * row is written and announced): a stream opens after it, so that the events of a turn
   * started on another replica after that reach it.
   */
  async listening(ownerId: string): Promise<void> {
    await this.registrations.get(ownerId);
  }

  private heard(ownerId: string): void {
    this.listened.add(ownerId);
    this.heardDuringReload?.add(ownerId);
  }

  private async reload(): Promise<void> {
    if (this.heardDuringReload) return;
    this.heardDuringReload = new Set();
    try {
      const owners = await this.listeners.ownersListenedTo(
        this.config.get('PROCESS_DEAD_AFTER_MS'),
      );
      this.listened = new Set([...owners, ...this.heardDuringReload]);
    } catch (error) {
      this.logger.warn({ err: error }, 'could not load the owners listened to');
    } finally {
      this.heardDuringReload = undefined;
    }
    for (const ownerId of [...this.unregistered]) this.register(ownerId);
  }

  /** Queues a write of the owner's row, after any still pending for it. */
  private register(ownerId: string): void {
    const next = (this.registrations.get(ownerId) ?? Promise.resolve()).then(() =>
      this.writeRow(ownerId),
    );
    this.registrations.set(ownerId, next);
    void next.then(() => {
      if (this.registrations.get(ownerId) === next) this.registrations.delete(ownerId);
    });
  }

  /** Brings the owner's row in line with whether this process has subscribers for it now. */
  private async writeRow(ownerId: string): Promise<void> {
    try {
      if (this.byOwner.has(ownerId)) await this.listeners.add(this.cluster.processId, ownerId);
      else await this.listeners.remove(this.cluster.processId, ownerId);
      this.unregistered.delete(ownerId);
    } catch (error) {
      this.logger.warn({ err: error }, 'could not record the owner events listened to here');
      this.unregistered.add(ownerId);
    }
  }

  private deliver(payload: string): void {
    let parsed: { ownerId: string } & OwnerEvent;
    try {
      parsed = JSON.parse(payload) as { ownerId: string } & OwnerEvent;
    } catch (error) {
      this.logger.warn({ err: error }, 'unreadable owner event');
      return;
    }
    const listeners = this.byOwner.get(parsed.ownerId);
    if (!listeners) return;
    const event: OwnerEvent = { type: parsed.type, data: parsed.data };
    for (const listener of [...listeners]) listener(event);
  }
}
