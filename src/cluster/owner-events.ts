import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';

import { ClusterService } from './cluster.service';

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

/**
 * Owner-scoped events across replicas: a publisher sends `{ ownerId, type, data }` on one
 * NOTIFY channel, fire-and-forget on the process's signal connection, and every process
 * hands what it hears to its own subscribers of that owner. Nothing is stored: a client
 * that was away refetches what it shows, and the rows are the truth.
 */
@Injectable()
export class OwnerEvents implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(OwnerEvents.name);
  private readonly byOwner = new Map<string, Set<Listener>>();
  private resolveClosed!: () => void;
  /** Resolves when this process stops serving subscribers (shutdown): clients reconnect. */
  readonly closed = new Promise<void>((resolve) => (this.resolveClosed = resolve));
  private closing = false;

  constructor(private readonly cluster: ClusterService) {}

  onApplicationBootstrap(): void {
    this.cluster.on(CHANNEL, (payload) => this.deliver(payload));
  }

  /** Draining: open streams end now so that their clients reconnect to another replica. */
  onModuleDestroy(): void {
    this.closing = true;
    this.byOwner.clear();
    this.resolveClosed();
  }

  publish(ownerId: string, type: string, data: object): void {
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
    if (!listeners) this.byOwner.set(ownerId, (listeners = new Set()));
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0 && this.byOwner.get(ownerId) === listeners)
        this.byOwner.delete(ownerId);
    };
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
