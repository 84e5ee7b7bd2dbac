import { Injectable } from '@nestjs/common';
import { sql } from 'kysely';

import { holderAlive } from '../cluster/processes.repository';
import { Db } from '../database/db';
import { GenerateSql } from '../database/generate-sql';
import { preparedQuery, preparedStatement } from '../database/prepared-query';
import { INTERRUPTED } from './turns.types';

/** The text a running reply added since its previous checkpoint (piece `idx`, from 0). */
export interface CheckpointPiece {
  turnId: string;
  idx: number;
  content: string;
  reasoning: string;
}

interface Release {
  conversationId: string;
  turnId: string;
}

const now = sql<Date>`now()`;
/** The turns the sweep freed, as one array (see buildSweepDead). */
const freedTurns = sql<string>`any((select coalesce(array_agg(active_turn_id), '{}') from freed)::uuid[])`;

/**
 * The upkeep of turns' claims, run by TurnLease beside the turn's own statements: release, checkpoints of running replies (which also carry
 * cancels between processes), and the sweep of claims whose process died.
 */
@Injectable()
export class TurnLeaseRepository {
  private readonly releaseQuery;
  private readonly sweepDeadStatement;

  constructor(private readonly db: Db) {
    // Run with each turn (or each second): built and compiled once.
    this.releaseQuery = preparedQuery(db, (input: Release) => this.buildRelease(input));
    this.sweepDeadStatement = preparedStatement(db, (input: { deadAfterMs: number }) =>
      this.buildSweepDead(input.deadAfterMs),
    );
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
   * Appends what running replies streamed since their last checkpoint (`pieces`, for some
   * of the `running` ones), all in one statement, and says for each running one whether a
   * cancel was asked for (from any process) and whether its claim still holds. The message rows are only read: their text is written
   * once, when the reply ends, so a checkpoint adds about its own text to the WAL and no
   * index entry. Also forgets the pieces of replies that have `ended` since.
   */
  async checkpoint(
    running: string[],
    pieces: CheckpointPiece[],
    ended: string[],
  ): Promise<{ turnId: string; cancelRequested: boolean; held: boolean }[]> {
    const rows = await this.buildCheckpoint(running, pieces, ended).execute();
    return rows.map((row) => ({ ...row, held: Boolean(row.held) }));
  }

  /** One statement whatever the number of replies: the pieces go as four arrays. */
  @GenerateSql({
    params: [
      ['00000000-0000-7000-8000-000000000000'],
      [{ turnId: '00000000-0000-7000-8000-000000000000', idx: 0, content: '', reasoning: '' }],
      ['00000000-0000-7000-8000-000000000001'],
    ],
  })
  private buildCheckpoint(running: string[], pieces: CheckpointPiece[], ended: string[]) {
    const turnIds = pieces.map((p) => p.turnId);
    return this.db
      .with('running', () => this.runningOf(running))
      .with('written', (db) =>
        db
          .insertInto('turnCheckpoints')
          .columns(['turnId', 'idx', 'content', 'reasoning'])
          .expression(
            db
              .selectFrom(
                sql<{ turnId: string; idx: number; content: string; reasoning: string }>`(
                  select * from unnest(
                    ${turnIds}::uuid[], ${pieces.map((p) => p.idx)}::int[],
                    ${pieces.map((p) => p.content)}::text[], ${pieces.map((p) => p.reasoning)}::text[]
                  ) as t(turn_id, idx, content, reasoning)
                )`.as('t'),
              )
              .where(sql<boolean>`t.turn_id in (select turn_id from running)`)
              .select([
                sql<string>`t.turn_id`.as('turnId'),
                sql<number>`t.idx`.as('idx'),
                sql<string>`t.content`.as('content'),
                sql<string>`t.reasoning`.as('reasoning'),
              ]),
          )
          // A retry after an error the database had in fact committed: the same piece, longer.
          .onConflict((oc) =>
            oc.columns(['turnId', 'idx']).doUpdateSet((eb) => ({
              content: eb.ref('excluded.content'),
              reasoning: eb.ref('excluded.reasoning'),
            })),
          ),
      )
      .with('forgotten', (db) =>
        db.deleteFrom('turnCheckpoints').where('turnId', '=', sql<string>`any(${ended}::uuid[])`),
      )
      .selectFrom('running')
      .select(['running.turnId', 'running.cancelRequested', 'running.held']);
  }

  /** Of `turnIds`, those still running: whether each was asked to stop, and holds its claim. */
  private runningOf(turnIds: string[]) {
    return this.db
      .selectFrom('messages as m')
      .where('m.id', '=', sql<string>`any(${turnIds}::uuid[])`)
      .where('m.status', '=', 'streaming')
      .select((eb) => [
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

  /** A running reply's text as last checkpointed (by whichever process runs it). */
  async checkpointedText(
    turnId: string,
  ): Promise<{ content: string; reasoning: string } | undefined> {
    const row = await this.db
      .selectFrom('turnCheckpoints')
      .select([
        sql<string>`string_agg(content, '' order by idx)`.as('content'),
        sql<string>`string_agg(reasoning, '' order by idx)`.as('reasoning'),
      ])
      .where('turnId', '=', turnId)
      .executeTakeFirst();
    return row?.content === null || row?.content === undefined ? undefined : row;
  }

  /**
   * Pieces whose reply is no longer running, left by a process that stopped between a
   * reply's end and its next checkpoint (which would have forgotten them). Rarely run.
   */
  async forgetOrphanCheckpoints(): Promise<void> {
    await this.db
      .deleteFrom('turnCheckpoints as t')
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('messages as m')
              .select('m.id')
              .whereRef('m.id', '=', 't.turnId')
              .where('m.status', '=', 'streaming'),
          ),
        ),
      )
      .execute();
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
   * stores their replies `failed` (turn_interrupted) with the text last checkpointed (its
   * pieces, joined; then forgotten). A `streaming` reply is always its conversation's claim
   * holder, so the claims name exactly the turns to fail. Reads only running claims (a
   * partial index).
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
        // The statement's snapshot still shows the pieces to the update below.
        .with('forgotten', (db) =>
          db.deleteFrom('turnCheckpoints').where('turnId', '=', freedTurns),
        )
        .updateTable('messages')
        .set({
          ...INTERRUPTED,
          completedAt: now,
          content: sql<string>`coalesce((select string_agg(t.content, '' order by t.idx) from turn_checkpoints t where t.turn_id = messages.id), messages.content)`,
          reasoning: sql<
            string | null
          >`coalesce(nullif((select string_agg(t.reasoning, '' order by t.idx) from turn_checkpoints t where t.turn_id = messages.id), ''), messages.reasoning)`,
        })
        // One array, not `id in (select …)`: a planner without statistics on messages joined
        // the (almost always empty) set to a scan of the whole table, every second.
        .where('id', '=', freedTurns)
        .where('status', '=', 'streaming')
    );
  }
}
