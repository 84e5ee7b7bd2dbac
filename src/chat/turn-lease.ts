import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';

import { AppException } from '../common/errors/app.exception';
import { AppConfig } from '../config/app-config';
import type { Turn } from './turn';
import { ClaimOutcome, ClaimTurn, TurnsRepository } from './turns.repository';

/**
 * A turn's claim on its conversation: one turn at a time per conversation, across every
 * process on the database. Claims are renewed for all running turns of this process in
 * one statement, and claims whose process died are swept: their replies are finalised and
 * their conversations freed.
 */
@Injectable()
export class TurnLease implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(TurnLease.name);
  private readonly held = new Map<string, Turn>();
  private renewer?: NodeJS.Timeout;
  private sweeper?: NodeJS.Timeout;

  constructor(
    private readonly turns: TurnsRepository,
    private readonly config: AppConfig,
  ) {}

  private get ttlMs(): number {
    return this.config.get('TURN_CLAIM_TTL_MS');
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.sweep();
    this.sweeper = setInterval(() => void this.sweep(), Math.max(1000, this.ttlMs / 2));
    this.sweeper.unref();
    this.renewer = setInterval(() => void this.renewAll(), Math.floor(this.ttlMs / 3));
    this.renewer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.sweeper);
    clearInterval(this.renewer);
  }

  claim(input: Omit<ClaimTurn, 'ttlMs'>): Promise<ClaimOutcome> {
    return this.turns.claim({ ...input, ttlMs: this.ttlMs });
  }

  /** Gives the conversation back when a turn ends before anything was stored. */
  release(conversationId: string, turnId: string): Promise<void> {
    return this.turns.release(conversationId, turnId);
  }

  /** Keeps the turn's claim alive until it ends; a lost claim stops the turn. */
  hold(turn: Turn): void {
    this.held.set(turn.assistantMessageId, turn);
    void turn.outcome.finally(() => this.held.delete(turn.assistantMessageId));
  }

  private async renewAll(): Promise<void> {
    if (this.held.size === 0) return;
    const running = [...this.held.values()];
    const claims = running.map((turn) => ({
      conversationId: turn.conversationId,
      turnId: turn.assistantMessageId,
    }));
    try {
      const lost = new Set(await this.turns.renew(claims, this.ttlMs));
      for (const turn of running) {
        if (lost.has(turn.assistantMessageId) && this.held.has(turn.assistantMessageId))
          turn.stop(
            new AppException('turn_claim_lost', 'This turn lost its claim on the conversation'),
          );
      }
    } catch (error) {
      this.logger.warn({ err: error }, 'could not renew turn claims');
    }
  }

  private async sweep(): Promise<void> {
    try {
      const finalized = await this.turns.finalizeAbandoned();
      if (finalized > 0)
        this.logger.warn({ finalized }, 'finalised turns left unfinished by a stopped process');
    } catch (error) {
      this.logger.warn({ err: error }, 'could not finalise abandoned turns');
    }
  }
}
