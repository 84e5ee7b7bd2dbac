import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';

import { ClusterService } from '../cluster/cluster.service';
import { ProcessesRepository } from '../cluster/processes.repository';
import { AppException } from '../common/errors/app.exception';
import { AppConfig } from '../config/app-config';
import { TooManyGenerationsException } from './chat.errors';
import type { Turn } from './turn';
import { TurnLeaseRepository } from './turn-lease.repository';
import { TurnsRepository } from './turns.repository';
import type { ClaimOutcome, ClaimTurn } from './turns.types';

/** Processes silent this long are forgotten altogether. */
const FORGET_PROCESSES_MS = 24 * 3600_000;
const CANCEL_CHANNEL = 'chat_cancel';

/**
 * A turn's claim on its conversation: one turn at a time per conversation, across every
 * process on the database, held for as long as this process beats (ClusterService). While
 * its turns run, their text is checkpointed to their rows in one statement for all of
 * them, which also picks up cancels asked for on other processes. Claims of processes
 * that stopped beating are swept: their conversations freed, their replies finalised with
 * the text last checkpointed.
 */
@Injectable()
export class TurnLease implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(TurnLease.name);
  private readonly held = new Map<string, Turn>();
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly turns: TurnsRepository,
    private readonly leases: TurnLeaseRepository,
    private readonly processes: ProcessesRepository,
    private readonly cluster: ClusterService,
    private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    void this.cluster.on(CANCEL_CHANNEL, (turnId) => this.cancelled(turnId));
    await this.sweep();
    this.every(this.config.get('PROCESS_HEARTBEAT_MS'), () => this.sweep());
    this.every(this.config.get('CHECKPOINT_MS'), () => this.checkpoint());
  }

  onApplicationShutdown(): void {
    for (const timer of this.timers) clearInterval(timer);
  }

  claim(
    input: Pick<
      ClaimTurn,
      | 'ownerId'
      | 'conversationId'
      | 'turnId'
      | 'idempotencyKey'
      | 'anchor'
      | 'anchorId'
      | 'inputCount'
      | 'handoverFrom'
    >,
  ): Promise<ClaimOutcome> {
    return this.turns.claim({
      ...input,
      processId: this.cluster.processId,
      deadAfterMs: this.config.get('PROCESS_DEAD_AFTER_MS'),
      maxPerOwner: this.config.get('MAX_CONCURRENT_GENERATIONS_PER_OWNER'),
    });
  }

  /**
   * The claim counted the owner's running replies from its own snapshot, so claims taken at
   * the same moment on several conversations all saw room for one more. Counted again once
   * this one is in, in turn-id order (ids are time-ordered), the earliest win and the rest
   * are refused: the owner's limit holds across processes.
   */
  async confirmWithinLimit(ownerId: string, turnId: string): Promise<void> {
    const max = this.config.get('MAX_CONCURRENT_GENERATIONS_PER_OWNER');
    const deadAfterMs = this.config.get('PROCESS_DEAD_AFTER_MS');
    if ((await this.leases.claimsUpTo(ownerId, turnId, deadAfterMs)) > max)
      throw new TooManyGenerationsException(max);
  }

  /** Gives the conversation back when a turn ends before anything was stored. */
  release(conversationId: string, turnId: string): Promise<void> {
    return this.leases.release(conversationId, turnId);
  }

  /** Checkpoints the turn while it runs here. */
  hold(turn: Turn): void {
    this.held.set(turn.assistantMessageId, turn);
    void turn.outcome.finally(() => this.held.delete(turn.assistantMessageId));
  }

  /** Asks whichever process runs the conversation's turn to stop it; the turn's id, or null. */
  async requestCancel(ownerId: string, conversationId: string): Promise<string | null> {
    const turnId = await this.leases.requestCancel(ownerId, conversationId);
    if (turnId) await this.cluster.notify(CANCEL_CHANNEL, turnId);
    return turnId;
  }

  private cancelled(turnId: string): void {
    this.held
      .get(turnId)
      ?.stop(new AppException('turn_cancelled', 'The turn was cancelled by the client'));
  }

  /**
   * Runs `work` every `ms`, never twice at once: a checkpoint of many streams that takes
   * longer than its period skips the tick instead of piling up statements on the same rows.
   */
  private every(ms: number, work: () => Promise<void>): void {
    let running = false;
    const timer = setInterval(() => {
      if (running) return;
      running = true;
      void work().finally(() => (running = false));
    }, ms);
    timer.unref();
    this.timers.push(timer);
  }

  private async checkpoint(): Promise<void> {
    const due: Turn[] = [];
    for (const turn of this.held.values()) if (turn.takeCheckpoint()) due.push(turn);
    if (due.length === 0) return;
    try {
      const rows = await this.leases.checkpoint(
        due.map((turn) => ({
          turnId: turn.assistantMessageId,
          content: turn.text,
          reasoning: turn.reasoning,
        })),
      );
      for (const row of rows) {
        if (row.cancelRequested) this.cancelled(row.turnId);
        else if (!row.held)
          this.held
            .get(row.turnId)
            ?.stop(
              new AppException('turn_claim_lost', 'This turn lost its claim on the conversation'),
            );
      }
    } catch (error) {
      this.logger.warn({ err: error }, 'could not checkpoint running replies');
    }
  }

  private async sweep(): Promise<void> {
    try {
      const finalized = await this.leases.sweepDead(this.config.get('PROCESS_DEAD_AFTER_MS'));
      if (finalized > 0)
        this.logger.warn({ finalized }, 'finalised turns left unfinished by a stopped process');
      if (Math.random() < 0.001) await this.processes.forgetSilentFor(FORGET_PROCESSES_MS);
    } catch (error) {
      this.logger.warn({ err: error }, 'could not finalise abandoned turns');
    }
  }
}
