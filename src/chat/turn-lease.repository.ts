import { Injectable } from '@nestjs/common';
import { sql } from 'kysely';

import { holderAlive } from '../cluster/processes.repository';
import { Db } from '../database/db';
import { GenerateSql } from '../database/generate-sql';
import { preparedQuery, preparedStatement } from '../database/prepared-query';
import { type Checkpoint, INTERRUPTED } from './turns.types';

interface ClaimsUpTo {
  ownerId: string;
  turnId: string;
  deadAfterMs: number;
}

interface Release {
  conversationId: string;
  turnId: string;
}

const now = sql<Date>`now()`;

/**
 * The upkeep of turns' claims, run by TurnLease beside the turn's own statements: the
 * owner's count of live claims, release, checkpoints of running replies (which also carry
 * cancels between processes), and the sweep of claims whose process died.
 */
@Injectable()
export class TurnLeaseRepository {
  private readonly claimsUpToQuery;
  private readonly releaseQuery;
  private readonly sweepDeadStatement;

  constructor(private readonly db: Db) {
    // Run with each turn (or each second): built and compiled once.
    this.claimsUpToQuery = preparedQuery(db, (input: ClaimsUpTo) => this.buildClaimsUpTo(input));
    this.releaseQuery = preparedQuery(db, (input: Release) => this.buildRelease(input));
    this.sweepDeadStatement = preparedStatement(db, (input: { deadAfterMs: number }) =>
      this.buildSweepDead(input.deadAfterMs),
    );
  }

  /**
   * How many of the owner's live claims come at or before this turn, in turn-id order
   * (ids are time-ordered). Claims taken at the same moment all see each other here, so
   * the earliest win and the owner's limit holds across processes.
   */
  async claimsUpTo(ownerId: string, turnId: string, deadAfterMs: number): Promise<number> {
    const [row] = await this.claimsUpToQuery({ ownerId, turnId, deadAfterMs });
    return Number(row.count);
  }

  @GenerateSql()
  private buildClaimsUpTo({ ownerId, turnId, deadAfterMs }: ClaimsUpTo) {
    return this.db
      .selectFrom('conversations as c')
      .select((eb) => eb.fn.countAll<string>().as('count'))
      .where('c.ownerId', '=', ownerId)
      .where('c.activeTurnId', '<=', turnId)
      .where(holderAlive(deadAfterMs));
  }

  /** Gives the conversation back when a turn ends before anything was stored. */
  async release(conversationId: string, turnId: string): Promise<void> {
    await this.releaseQuery({ conversationId, turnId });
  }

  @GenerateSql()
  private buildRelease({ conversationId, turnId }: Release) {
    return this.db
      .updateTable('conversations')
      .set({ activeTurnId: null, activeProcessId: null })
      .where('id', '=', conversationId)
      .where('activeTurnId', '=', turnId);
  }

  /**
   * Writes the text so far of running replies, all in one statement, and says for each
   * whether a cancel was asked for (from any process) and whether its claim still holds.
   */
  async checkpoint(
    checkpoints: Checkpoint[],
  ): Promise<{ turnId: string; cancelRequested: boolean; held: boolean }[]> {
    const updated = await this.buildCheckpoint(checkpoints).execute();
    return updated.map((row) => ({ ...row, held: Boolean(row.held) }));
  }

  /** One statement whatever the number of replies: the checkpoints go as three arrays. */
  @GenerateSql({
    params: [[{ turnId: '00000000-0000-7000-8000-000000000000', content: '', reasoning: '' }]],
  })
  private buildCheckpoint(checkpoints: Checkpoint[]) {
    const rows = this.db.selectNoFrom([
      sql<string>`unnest(${checkpoints.map((c) => c.turnId)}::uuid[])`.as('turnId'),
      sql<string>`unnest(${checkpoints.map((c) => c.content)}::text[])`.as('content'),
      sql<string>`unnest(${checkpoints.map((c) => c.reasoning)}::text[])`.as('reasoning'),
    ]);
    return this.db
      .updateTable('messages as m')
      .from(rows.as('t'))
      .set((eb) => ({
        content: eb.ref('t.content'),
        reasoning: sql<string | null>`nullif(t.reasoning, '')`,
      }))
      .whereRef('m.id', '=', 't.turnId')
      .where('m.status', '=', 'streaming')
      .returning((eb) => [
        'm.id as turnId',
        'm.cancelRequested',
        eb
          .exists(
            eb
              .selectFrom('conversations as c')
              .select('c.id')
              .whereRef('c.id', '=', 'm.conversationId')
              .whereRef('c.activeTurnId', '=', 'm.id'),
          )
          .as('held'),
      ]);
  }

  /** Asks for the running turn of a conversation to stop; its id, or null when none runs. */
  async requestCancel(ownerId: string, conversationId: string): Promise<string | null> {
    const row = await this.db
      .updateTable('messages')
      .set({ cancelRequested: true })
      .where('id', '=', (eb) =>
        eb
          .selectFrom('conversations')
          .select('activeTurnId')
          .where('id', '=', conversationId)
          .where('ownerId', '=', ownerId),
      )
      .where('status', '=', 'streaming')
      .returning('id')
      .executeTakeFirst();
    return row?.id ?? null;
  }

  /**
   * Finalises the turns of processes that stopped beating: frees their conversations and
   * stores their replies `failed` (turn_interrupted) with the text last checkpointed. A
   * `streaming` reply is always its conversation's claim holder, so the claims name
   * exactly the turns to fail. Reads only running claims (a partial index).
   */
  async sweepDead(deadAfterMs: number): Promise<number> {
    const result = await this.sweepDeadStatement({ deadAfterMs });
    return Number(result.numAffectedRows ?? 0);
  }

  @GenerateSql()
  private buildSweepDead(deadAfterMs: number) {
    return (
      this.db
        .with('dead', (db) =>
          db
            .selectFrom('conversations as c')
            .select(['c.id', 'c.activeTurnId'])
            .where('c.activeTurnId', 'is not', null)
            .where((eb) => eb.not(holderAlive(deadAfterMs)))
            .forUpdate()
            .skipLocked(),
        )
        .with('freed', (db) =>
          db
            .updateTable('conversations as c')
            .from('dead')
            .set({ activeTurnId: null, activeProcessId: null })
            .whereRef('c.id', '=', 'dead.id')
            .returning('dead.activeTurnId'),
        )
        .updateTable('messages')
        .set({ ...INTERRUPTED, completedAt: now })
        // One array, not `id in (select …)`: a planner without statistics on messages joined
        // the (almost always empty) set to a scan of the whole table, every second.
        .where(
          'id',
          '=',
          sql<string>`any((select coalesce(array_agg(active_turn_id), '{}') from freed)::uuid[])`,
        )
        .where('status', '=', 'streaming')
    );
  }
}
