import { BeforeApplicationShutdown, Injectable } from '@nestjs/common';

import { AppException, ValidationFailedException } from '../common/errors/app.exception';
import { AppConfig } from '../config/app-config';
import { ConversationsService } from '../conversations/conversations.service';
import { UnknownModelException } from '../llm/llm.errors';
import { LlmService } from '../llm/llm.service';
import type { Message } from '../messages/message';
import { MetricsService } from '../metrics/metrics.service';
import { NoActiveGenerationException } from './chat.errors';
import { Turn } from './turn';
import { TurnRegistry } from './turn-registry';
import { TurnInput, TurnRunner } from './turn-runner';

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
  constructor(
    private readonly runner: TurnRunner,
    private readonly running: TurnRegistry,
    private readonly conversations: ConversationsService,
    private readonly llm: LlmService,
    private readonly config: AppConfig,
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

  /** Starts a turn (or finds the one an Idempotency-Key names) and returns it running. */
  async startTurn(ownerId: string, conversationId: string, input: TurnInput): Promise<Turn> {
    this.validate(input);
    const max = this.config.get('MAX_CONCURRENT_GENERATIONS_PER_OWNER');
    const releaseSlot = this.running.reserve(ownerId, max);
    if (!releaseSlot) {
      throw new AppException(
        'too_many_generations',
        `At most ${max} replies may be generated at once; wait for one to finish`,
        { retryAfter: 1 },
      );
    }
    try {
      const turn = await this.runner.start(ownerId, conversationId, input);
      void turn.outcome.finally(releaseSlot);
      return turn;
    } catch (error) {
      releaseSlot();
      throw error;
    }
  }

  async status(ownerId: string, conversationId: string): Promise<GenerationStatus> {
    const turn = await this.active(ownerId, conversationId);
    return {
      assistantMessageId: turn.assistantMessageId,
      status: 'streaming',
      model: turn.alias,
      text: turn.text,
      startedAt: turn.startedAt.toISOString(),
    };
  }

  /** Stops the running turn, aborting the provider request; resolves with the stored partial reply. */
  async cancel(ownerId: string, conversationId: string): Promise<Message | null> {
    const turn = await this.active(ownerId, conversationId);
    turn.stop(new AppException('turn_cancelled', 'The turn was cancelled by the client'));
    return (await turn.outcome).assistantMessage;
  }

  /**
   * The running turn and the index of its first event after `lastEventId` (0: from the
   * start), to follow it again after a disconnect.
   */
  async follow(
    ownerId: string,
    conversationId: string,
    lastEventId: number,
  ): Promise<{ turn: Turn; from: number }> {
    const turn = await this.active(ownerId, conversationId);
    const from = lastEventId === 0 ? 0 : turn.indexAfter(lastEventId);
    if (from === undefined || from > turn.events.length) {
      throw new AppException(
        'invalid_last_event_id',
        `Last-Event-ID ${lastEventId} is not an event of this conversation's turns so far; resume without it to get the running turn from its start`,
      );
    }
    return { turn, from };
  }

  private async active(ownerId: string, conversationId: string): Promise<Turn> {
    await this.conversations.get(ownerId, conversationId);
    const turn = this.running.get(conversationId);
    if (!turn || turn.done) throw new NoActiveGenerationException();
    return turn;
  }

  /** Checks that cost nothing, before the turn claims anything. */
  private validate(input: TurnInput): void {
    const max = this.config.get('MESSAGE_MAX_CHARS');
    const problems: string[] = [];
    if (input.message.trim().length === 0) problems.push('message must not be empty');
    if (input.message.length > max)
      problems.push(`message must be at most ${max} characters (it has ${input.message.length})`);
    if (problems.length > 0)
      throw new ValidationFailedException([{ field: 'message', errors: problems }]);
    if (input.model !== undefined && !this.llm.isKnown(input.model))
      throw new UnknownModelException(input.model);
    if (input.idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(input.idempotencyKey)) {
      throw new AppException(
        'invalid_idempotency_key',
        'Idempotency-Key must be 1 to 200 printable ASCII characters',
      );
    }
  }
}
