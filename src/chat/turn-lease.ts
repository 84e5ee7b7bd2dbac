import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';

import { ClusterService } from '../cluster/cluster.service';
import { ProcessesRepository } from '../cluster/processes.repository';
import { AppException } from '../common/errors/app.exception';
import { AppConfig } from '../config/app-config';
import type { Turn } from './turn';
import { CheckpointPiece, TurnLeaseRepository } from './turn-lease.repository';
import { TurnsRepository } from './turns.repository';
import type { ClaimOutcome, ClaimTurn, OwnerLimit } from './turns.types';

/** How far each held turn's text has been checkpointed, its next piece's number, and when. */
interface Checkpointed {
  content: number;
  reasoning: number;
  idx: number;
  at: number;
}

/**
 * After its first piece, a reply's next one waits for this much new text, or for
 * PIECE_EVERY_TICKS checkpoint periods: each piece costs ~250 bytes of WAL beyond its
 * text, so a slow reply's checkpoints stay well under its own size.
 */
const MIN_PIECE_CHARS = 512;
const PIECE_EVERY_TICKS = 5;

/** Processes silent this long are forgotten altogether. */
const FORGET_PROCESSES_MS = 24 * 3600_000;
const CANCEL_CHANNEL = 'chat_cancel';

/**
 * A turn's claim on its conversation: one turn at a time per conversation, across every
 * process on the database, held for as long as this process beats (ClusterService). While
 * its turns run, what their text gained is appended as a checkpoint piece (the first at
 * once, then every 512 characters or 5 periods), in one statement for all of them, which
 * also picks up cancels asked for on other processes (every period). Claims of
 * processes that stopped beating are swept: their conversations freed, their replies
 * finalised with the text last checkpointed.
 */
@Injectable()
export class TurnLease implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(TurnLease.name);
  private readonly held = new Map<string, Turn>();
  private readonly checkpointed = new Map<string, Checkpointed>();
  /** Turns that ended with pieces stored: the next checkpoint statement forgets them. */
  private ended: string[] = [];
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
      ...this.ownerLimit(input.ownerId),
      processId: this.cluster.processId,
    });
  }

  /** The owner's limit on replies at once, which the claim and the begin both check. */
  ownerLimit(ownerId: string): OwnerLimit {
    return {
      ownerId,
      maxPerOwner: this.config.get('MAX_CONCURRENT_GENERATIONS_PER_OWNER'),
      deadAfterMs: this.config.get('PROCESS_DEAD_AFTER_MS'),
    };
  }

  /** Gives the conversation back when a turn ends before anything was stored. */
  release(conversationId: string, turnId: string): Promise<void> {
    return this.leases.release(conversationId, turnId);
  }

  /** Checkpoints the turn while it runs here. */
  hold(turn: Turn): void {
    const id = turn.assistantMessageId;
    this.held.set(id, turn);
    this.checkpointed.set(id, { content: 0, reasoning: 0, idx: 0, at: 0 });
    void turn.outcome.finally(() => {
      this.held.delete(id);
      if ((this.checkpointed.get(id)?.idx ?? 0) > 0) this.ended.push(id);
      this.checkpointed.delete(id);
    });
  }

  /**
   * Stops checkpointing a server tool step's turn once its reply is stored: the next step's
   * turn holds the conversation and is checkpointed instead (see TurnRunner.nextStep).
   */
  letGo(turn: Turn): void {
    const id = turn.assistantMessageId;
    if (!this.held.delete(id)) return;
    if ((this.checkpointed.get(id)?.idx ?? 0) > 0) this.ended.push(id);
    this.checkpointed.delete(id);
  }

  /** A running reply's text as last checkpointed, wherever it runs; undefined before any. */
  checkpointedText(turnId: string): Promise<{ content: string; reasoning: string } | undefined> {
    return this.leases.checkpointedText(turnId);
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
    const pieces: CheckpointPiece[] = [];
    const running: string[] = [];
    const reached = new Map<string, Checkpointed>();
    const now = Date.now();
    const wait = PIECE_EVERY_TICKS * this.config.get('CHECKPOINT_MS');
    for (const turn of this.held.values()) {
      const done = this.checkpointed.get(turn.assistantMessageId);
      if (!done || turn.done) continue;
      running.push(turn.assistantMessageId);
      const content = pieceEnd(turn.text, done.content);
      const reasoning = pieceEnd(turn.reasoning, done.reasoning);
      const grown = content - done.content + reasoning - done.reasoning;
      if (grown === 0 || (done.idx > 0 && grown < MIN_PIECE_CHARS && now - done.at < wait))
        continue;
      pieces.push({
        turnId: turn.assistantMessageId,
        idx: done.idx,
        content: turn.text.slice(done.content, content),
        reasoning: turn.reasoning.slice(done.reasoning, reasoning),
      });
      reached.set(turn.assistantMessageId, { content, reasoning, idx: done.idx + 1, at: now });
    }
    const ended = this.ended;
    if (running.length === 0 && ended.length === 0) return;
    this.ended = [];
    try {
      const rows = await this.leases.checkpoint(running, pieces, ended);
      for (const [id, next] of reached)
        if (this.checkpointed.has(id)) this.checkpointed.set(id, next);
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
      // The pieces go again from the same place next time (a piece written meanwhile is
      // replaced, longer); the ended turns are forgotten next time.
      this.ended.push(...ended);
      this.logger.warn({ err: error }, 'could not checkpoint running replies');
    }
  }

  private async sweep(): Promise<void> {
    try {
      const finalized = await this.leases.sweepDead(this.config.get('PROCESS_DEAD_AFTER_MS'));
      if (finalized > 0)
        this.logger.warn({ finalized }, 'finalised turns left unfinished by a stopped process');
      if (Math.random() < 0.001) {
        await this.processes.forgetSilentFor(FORGET_PROCESSES_MS);
        await this.leases.forgetOrphanCheckpoints();
      }
    } catch (error) {
      this.logger.warn({ err: error }, 'could not finalise abandoned turns');
    }
  }
}

/**
 * Where a piece of `text` from `from` may end: its end, less a trailing high surrogate
 * whose pair has not arrived (a piece is stored on its own, so it must not split a pair).
 */
function pieceEnd(text: string, from: number): number {
  const end = text.length;
  if (end > from) {
    const last = text.charCodeAt(end - 1);
    if (last >= 0xd800 && last <= 0xdbff) return end - 1;
  }
  return end;
}
