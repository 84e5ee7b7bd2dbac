import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';

import { ClusterService } from '../cluster/cluster.service';
import type { Message } from '../history/message';
import { storedFailure } from './chat.errors';
import { toEventPayload, turnEventSource } from './chat-event.mapper';
import type { TurnEventFrame } from './turn-events';
import { RemoteTurn } from './remote-turn';
import { ChatEvent, eventId } from './turn';
import { TurnRegistry } from './turn-registry';
import { TurnRelayRepository } from './turn-relay.repository';
import { TurnsRepository } from './turns.repository';

const FOLLOW_CHANNEL = 'chat_follow';
const EVENTS_CHANNEL = 'chat_events';
/** How often a followed turn's new events are published: batched, never per token. */
const PUBLISH_EVERY_MS = 50;
/** A follower's fallback poll, for signals missed while a connection was away. */
const POLL_EVERY_MS = 1000;
/** Relay rows outlive their turn by this much, for late resumes. */
const KEEP_EVENTS_MS = 10 * 60_000;

/**
 * Lets any process follow a turn that runs on another: the follower signals the turn's
 * id; the process running it publishes the turn's frames (all so far, then new ones every
 * PUBLISH_EVERY_MS) to a relay table and signals each batch. Nothing is published unless
 * someone follows from elsewhere.
 */
@Injectable()
export class TurnRelay implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(TurnRelay.name);
  private readonly publishing = new Set<string>();
  private readonly mirrors = new Map<string, RemoteTurn>();
  private poller?: NodeJS.Timeout;

  constructor(
    private readonly relay: TurnRelayRepository,
    private readonly turns: TurnsRepository,
    private readonly cluster: ClusterService,
    private readonly running: TurnRegistry,
  ) {}

  onApplicationBootstrap(): void {
    void this.cluster.on(FOLLOW_CHANNEL, (turnId) => this.publish(turnId));
    void this.cluster.on(EVENTS_CHANNEL, (turnId) => void this.pull(turnId));
    this.poller = setInterval(() => void this.poll(), POLL_EVERY_MS);
    this.poller.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.poller);
  }

  /** Mirrors the running reply `message` (running elsewhere) and asks for its events. */
  async follow(message: Message): Promise<RemoteTurn> {
    let mirror = this.mirrors.get(message.id);
    if (!mirror) {
      mirror = new RemoteTurn(message.id, message.seq);
      this.mirrors.set(message.id, mirror);
      void mirror.done.then(() => this.mirrors.delete(message.id));
      await this.cluster.notify(FOLLOW_CHANNEL, message.id);
    }
    return mirror;
  }

  /** On the process running the turn: publish its frames while it runs. */
  private publish(turnId: string): void {
    const turn = this.running.byTurnId(turnId);
    if (!turn || this.publishing.has(turnId)) return;
    this.publishing.add(turnId);
    const pending: TurnEventFrame[] = [];
    let next = 0;
    let writing = Promise.resolve();
    // One write at a time, in order (a slow write must not let the next batch take its
    // indexes); a batch that failed goes out again with the next.
    const flush = (): Promise<void> =>
      (writing = writing
        .then(async () => {
          const batch = pending.splice(0);
          if (batch.length === 0) return;
          try {
            await this.relay.append(EVENTS_CHANNEL, turnId, next, batch);
            next += batch.length;
          } catch (error) {
            pending.unshift(...batch);
            throw error;
          }
        })
        .catch((error: unknown) => this.logger.warn({ err: error }, 'could not relay events')));
    const stop = turnEventSource(turn, 0).listen((frame) => pending.push(frame));
    // What the turn sent so far goes out at once: the follower is waiting for it.
    void flush();
    const timer = setInterval(() => void flush(), PUBLISH_EVERY_MS);
    void turn.outcome.then(async () => {
      clearInterval(timer);
      stop();
      await flush();
      this.publishing.delete(turnId);
    });
  }

  /** On a follower: reads the frames it has not seen yet. */
  private async pull(turnId: string): Promise<void> {
    const mirror = this.mirrors.get(turnId);
    if (!mirror) return;
    for (const frame of await this.relay.framesFrom(turnId, mirror.frames.length))
      mirror.push(frame);
  }

  /**
   * Catches up every mirror (a missed signal), asks again for turns that sent nothing
   * yet, and ends mirrors whose turn was finalised without publishing its end (its process
   * died): they end with the reply as stored.
   */
  private async poll(): Promise<void> {
    try {
      for (const [turnId, mirror] of this.mirrors) {
        await this.pull(turnId);
        if (mirror.ended) continue;
        if (mirror.frames.length === 0) await this.cluster.notify(FOLLOW_CHANNEL, turnId);
        await this.endIfFinalised(mirror);
      }
      if (Math.random() < 0.01) await this.relay.deleteOlderThan(KEEP_EVENTS_MS);
    } catch (error) {
      this.logger.warn({ err: error }, 'could not poll followed turns');
    }
  }

  private async endIfFinalised(mirror: RemoteTurn): Promise<void> {
    const stored = await this.turns.findMessage(mirror.assistantMessageId);
    if (!stored || stored.status === 'streaming') return;
    // Its last batch may still be on its way.
    await new Promise((resolve) => setTimeout(resolve, PUBLISH_EVERY_MS * 4));
    await this.pull(mirror.assistantMessageId);
    if (mirror.ended) return;
    const event: ChatEvent = stored.errorCode
      ? { type: 'error', failure: storedFailure(stored), assistantMessage: stored }
      : { type: 'message.completed', assistantMessage: stored };
    const last = mirror.frames.at(-1)?.id ?? eventId(mirror.seq, -1);
    mirror.push({ id: last + 1, event: event.type, data: toEventPayload(event) });
  }
}
