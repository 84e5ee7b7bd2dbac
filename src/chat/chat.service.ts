import { BeforeApplicationShutdown, Injectable } from '@nestjs/common';

import { OwnerEvents } from '../cluster/owner-events';
import { AppException, ValidationFailedException } from '../common/errors/app.exception';
import { AppConfig } from '../config/app-config';
import { ConversationsService } from '../conversations';
import { UnknownModelException } from '../llm/llm.errors';
import { LlmService } from '../llm/llm.service';
import type { Message } from '../history/message';
import { MetricsService } from '../metrics/metrics.service';
import { NoActiveGenerationException } from './chat.errors';
import { Turn } from './turn';
import { TurnRegistry } from './turn-registry';
import { RemoteTurn } from './remote-turn';
import { TurnLease } from './turn-lease';
import { TurnRelay } from './turn-relay';
import { TurnInput, TurnRunner } from './turn-runner';
import { TurnsRepository } from './turns.repository';

export type { TurnInput } from './turn-runner';

export interface GenerationStatus {
  assistantMessageId: string;
  status: 'streaming';
  model: string;
  text: string;
  startedAt: string;
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/;

/**
 * The write side of a conversation as the doors (HTTP, streams) see it: start a turn,
 * follow it, ask how far it is, cancel it. The turn itself is the TurnRunner's.
 */
@Injectable()
export class ChatService implements BeforeApplicationShutdown {
  /** Turns told to the owner's event streams (a live replay hands out the same turn again). */
  private readonly announced = new WeakSet<Turn>();

  constructor(
    private readonly runner: TurnRunner,
    private readonly lease: TurnLease,
    private readonly relay: TurnRelay,
    private readonly turns: TurnsRepository,
    private readonly running: TurnRegistry,
    private readonly conversations: ConversationsService,
    private readonly llm: LlmService,
    private readonly config: AppConfig,
    private readonly events: OwnerEvents,
    metrics: MetricsService,
  ) {
    metrics.watchActiveGenerations(() => running.size);
  }

  /** Lets running replies finish (up to SHUTDOWN_TIMEOUT_MS) while the database is still connected. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.running.drain(
      this.config.get('SHUTDOWN_TIMEOUT_MS'),
      new AppException(
        'server_shutdown',
        'The server shut down before the reply finished; send the message again',
      ),
    );
  }

  /**
   * Starts a turn (or finds the one an Idempotency-Key names) and returns it running. The
   * per-owner limit on replies at once is part of the claim, so it holds across processes.
   */
  async startTurn(ownerId: string, conversationId: string, input: TurnInput): Promise<Turn> {
    this.validate(input);
    const turn = await this.runner.start(ownerId, conversationId, input);
    this.announce(ownerId, turn);
    return turn;
  }

  /**
   * Starts (or replays) a streamed turn, and the index of its first event after
   * `lastEventId` (0: from the start): a re-POST with the same Idempotency-Key and the
   * Last-Event-ID a dropped stream got to goes on from there, as a resume does.
   */
  async startStream(
    ownerId: string,
    conversationId: string,
    input: TurnInput,
    lastEventId: number,
  ): Promise<{ turn: Turn; from: number }> {
    const turn = await this.startTurn(ownerId, conversationId, input);
    return { turn, from: resumeIndex(turn, lastEventId) };
  }

  /**
   * A new turn's start and end go to the owner's event streams, on every replica. Both are
   * signals sent without waiting, off the turn's path; a replayed turn is not new.
   */
  private announce(ownerId: string, turn: Turn): void {
    if (turn.done || this.announced.has(turn)) return;
    this.announced.add(turn);
    const { conversationId, assistantMessageId } = turn;
    this.events.publish(ownerId, 'turn.started', { conversationId, assistantMessageId });
    void turn.outcome.then(({ assistantMessage, failure }) =>
      this.events.publish(ownerId, 'turn.finished', {
        conversationId,
        assistantMessageId,
        status: assistantMessage?.status ?? failure?.messageStatus ?? 'failed',
      }),
    );
  }

  /** The running turn and its text so far: live here, or as last checkpointed elsewhere. */
  async status(ownerId: string, conversationId: string): Promise<GenerationStatus> {
    await this.conversations.get(ownerId, conversationId);
    const turn = this.running.get(conversationId);
    if (turn && !turn.done) {
      const { assistantMessageId, alias, text, startedAt } = turn;
      return {
        assistantMessageId,
        status: 'streaming',
        model: alias,
        text,
        startedAt: startedAt.toISOString(),
      };
    }
    const elsewhere = await this.findRunning(ownerId, conversationId);
    if (!elsewhere) throw new NoActiveGenerationException();
    return {
      assistantMessageId: elsewhere.id,
      status: 'streaming',
      model: elsewhere.model ?? '',
      text: elsewhere.content,
      startedAt: elsewhere.createdAt.toISOString(),
    };
  }

  /**
   * Stops the running turn, whichever process runs it (a durable flag and a signal): the
   * provider request is aborted there. Resolves with the stored partial reply.
   */
  async cancel(ownerId: string, conversationId: string): Promise<Message | null> {
    await this.conversations.get(ownerId, conversationId);
    const turnId = await this.lease.requestCancel(ownerId, conversationId);
    if (!turnId) throw new NoActiveGenerationException();
    const local = this.running.get(conversationId);
    if (local?.assistantMessageId === turnId) {
      local.stop(new AppException('turn_cancelled', 'The turn was cancelled by the client'));
      return (await local.outcome).assistantMessage;
    }
    return this.runner.settled(turnId);
  }

  /**
   * The running turn, wherever it runs, and the index of its first event after
   * `lastEventId` (0: from the start), to follow it again after a disconnect. A turn of
   * another process is mirrored here from the events it publishes: same frames, same ids.
   */
  async follow(
    ownerId: string,
    conversationId: string,
    lastEventId: number,
  ): Promise<{ turn: Turn | RemoteTurn; from: number }> {
    await this.conversations.get(ownerId, conversationId);
    const local = this.running.get(conversationId);
    const turn = local && !local.done ? local : await this.followElsewhere(ownerId, conversationId);
    return { turn, from: resumeIndex(turn, lastEventId) };
  }

  private async followElsewhere(ownerId: string, conversationId: string): Promise<RemoteTurn> {
    const running = await this.findRunning(ownerId, conversationId);
    if (!running) throw new NoActiveGenerationException();
    return this.relay.follow(running);
  }

  /** The reply running elsewhere, with its text as last checkpointed there. */
  private async findRunning(ownerId: string, conversationId: string): Promise<Message | undefined> {
    const running = await this.turns.findRunning(ownerId, conversationId);
    const text = running && (await this.lease.checkpointedText(running.id));
    return running && text
      ? { ...running, content: text.content, reasoning: text.reasoning || running.reasoning }
      : running;
  }

  /** Checks that cost nothing, before the turn claims anything. */
  private validate(input: TurnInput): void {
    if (input.toolResults) this.validateToolOutputs(input.toolResults.results);
    else if (input.branch?.anchor !== 'regenerate') this.validateMessage(input.message ?? '');
    if (input.model !== undefined && !this.llm.isKnown(input.model))
      throw new UnknownModelException(input.model);
    if (input.idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(input.idempotencyKey)) {
      throw new AppException(
        'invalid_idempotency_key',
        'Idempotency-Key must be 1 to 200 printable ASCII characters',
      );
    }
  }

  private validateToolOutputs(results: { output: string }[]): void {
    const max = this.config.get('MESSAGE_MAX_CHARS');
    const problems = results.flatMap(({ output }, i) =>
      output.length > max
        ? [`results[${i}].output must be at most ${max} characters (it has ${output.length})`]
        : [],
    );
    if (problems.length > 0)
      throw new ValidationFailedException([{ field: 'results', errors: problems }]);
  }

  private validateMessage(message: string): void {
    const max = this.config.get('MESSAGE_MAX_CHARS');
    const problems: string[] = [];
    if (message.trim().length === 0) problems.push('message must not be empty');
    if (message.length > max)
      problems.push(`message must be at most ${max} characters (it has ${message.length})`);
    if (problems.length > 0)
      throw new ValidationFailedException([{ field: 'message', errors: problems }]);
  }
}

/**
 * Where `turn`'s events go on after `lastEventId`: 0 for none or an id of an earlier turn;
 * refused for an id the turn has not sent. A finished turn replayed as its whole text has
 * other ids than its first stream: a client that got part of that is sent only its end.
 */
function resumeIndex(turn: Turn | RemoteTurn, lastEventId: number): number {
  const from = lastEventId === 0 ? 0 : turn.indexAfter(lastEventId);
  if (turn instanceof Turn && turn.wholeText && from !== undefined && from > 0)
    return turn.events.length - 1;
  const known = turn instanceof Turn ? turn.events.length : Infinity;
  if (from === undefined || from > known) {
    throw new AppException(
      'invalid_last_event_id',
      `Last-Event-ID ${lastEventId} is not an event of this conversation's turns so far; resume without it to get the running turn from its start`,
    );
  }
  return from;
}
