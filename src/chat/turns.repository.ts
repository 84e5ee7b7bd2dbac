import { Injectable } from '@nestjs/common';
import { sql } from 'kysely';
import { jsonArrayFrom, jsonObjectFrom } from 'kysely/helpers/postgres';

import { Db } from '../database/db';
import { preparedQuery } from '../database/prepared-query';
import { Message, MESSAGE_COLUMNS } from '../messages/message';
import type { MemoryMark, ReadWindow, WindowMessage } from '../memory/memory-mark';
import type { HistoryWindow } from '../prompts/prompt-manager';

/** What a successful claim returns: the conversation's settings as of this turn. */
export interface ClaimedConversation {
  userSeq: number;
  systemPrompt: string | null;
  model: string | null;
  temperature: number | null;
  topP: number | null;
  maxTokens: number | null;
  seed: number | null;
  /** The assistant message of an expired claim this one replaced, if any. */
  previousTurnId: string | null;
}

export type ClaimOutcome =
  /** `running`: the owner's live claims other than this one when it was taken. */
  | { kind: 'claimed'; conversation: ClaimedConversation; running: number }
  | { kind: 'not_found' }
  | { kind: 'busy' }
  | { kind: 'limit' }
  | { kind: 'replay'; userMessageId: string; requestHash: string | null };

export interface ClaimTurn {
  ownerId: string;
  conversationId: string;
  turnId: string;
  idempotencyKey: string | null;
  /** This process, which holds the claim while it beats. */
  processId: string;
  /** A holder silent this long is dead and its claim free. */
  deadAfterMs: number;
  /** The owner's replies running at once, across all processes, before this one. */
  maxPerOwner: number;
}

export interface BeginTurn {
  conversationId: string;
  turnId: string;
  userMessageId: string;
  userSeq: number;
  content: string;
  tokenCount: number;
  alias: string;
  idempotencyKey: string | null;
  requestHash: string | null;
  previousTurnId: string | null;
  window: HistoryWindow;
}

export interface FinishTurn {
  conversationId: string;
  turnId: string;
  status: 'complete' | 'failed' | 'cancelled';
  content: string;
  reasoning: string | null;
  tokenCount: number;
  upstreamModel: string | null;
  promptTokens: number | null;
  completionTokens: number | null;
  usageEstimated: boolean;
  latencyMs: number;
  ttftMs: number | null;
  finishReason: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  /** The reply's ContextManifest (what its prompt held). */
  context: object;
}

/** A running reply's text so far, to checkpoint. */
export interface Checkpoint {
  turnId: string;
  content: string;
  reasoning: string;
}

const INTERRUPTED = {
  status: 'failed',
  errorCode: 'turn_interrupted',
  errorMessage: 'The process running this turn stopped before it finished',
} as const;

/** A concurrent turn stored the same Idempotency-Key first (its claim raced this one's). */
export class IdempotencyKeyTakenError extends Error {}

function isUniqueViolation(error: unknown, constraint: string): boolean {
  const pg = error as { code?: unknown; constraint?: unknown };
  return pg?.code === '23505' && pg.constraint === constraint;
}

const now = sql<Date>`now()`;

/** The CTEs a window read defines: the memory mark and the messages read after it. */
type WindowTables = {
  mark: MemoryMark;
  kept: WindowMessage & { fits: boolean };
};

/** A window's columns as read: `read` counts the messages after the mark the window read. */
function readWindow(
  history: WindowMessage[],
  mark: MemoryMark | null,
  read: string | number | null,
): ReadWindow {
  return { history, mark, omitted: Number(read ?? 0) - history.length };
}

/** Whether the process holding a claim (`c.active_process_id`) is still beating. */
export const holderAlive = (deadAfterMs: number) =>
  sql<boolean>`exists (select 1 from processes p where p.id = c.active_process_id
    and p.heartbeat_at > now() - ${deadAfterMs} * interval '1 millisecond')`;

/**
 * The SQL of one chat turn, folded into as few round trips as it takes:
 * claim (1), begin = store user message + assistant placeholder + read history (1),
 * finish = store reply + release claim (1). Data-modifying CTEs always run to completion,
 * whether or not the final SELECT reads them.
 */
@Injectable()
export class TurnsRepository {
  private readonly claimQuery;
  private readonly beginQuery;
  private readonly finishQuery;
  private readonly previewQuery;

  constructor(private readonly db: Db) {
    this.claimQuery = preparedQuery(db, (input: ClaimTurn) => this.buildClaim(input));
    this.beginQuery = preparedQuery(db, (input: BeginTurn) => this.buildBegin(input));
    this.finishQuery = preparedQuery(db, (input: FinishTurn) => this.buildFinish(input));
    this.previewQuery = preparedQuery(db, (input: Parameters<TurnsRepository['buildPreview']>[0]) =>
      this.buildPreview(input),
    );
  }

  /**
   * Takes the conversation for one turn unless another live turn holds it. The condition
   * is on the row being updated, so concurrent claims serialise on its lock and exactly
   * one wins. A claim whose holder stopped renewing it (crash) expires.
   */
  async claim(input: ClaimTurn): Promise<ClaimOutcome> {
    const [row] = await this.claimQuery(input);
    if (!row.found) return { kind: 'not_found' };
    if (row.replayId)
      return { kind: 'replay', userMessageId: row.replayId, requestHash: row.replayHash };
    if (row.claim)
      return { kind: 'claimed', conversation: row.claim, running: Number(row.running) };
    return Number(row.running) >= input.maxPerOwner ? { kind: 'limit' } : { kind: 'busy' };
  }

  /**
   * Stores the user message and the assistant placeholder (one INSERT), finalises a crashed turn this
   * claim replaced, and reads the history window — one statement, so the history read sees
   * the conversation as it was before this turn.
   */
  async begin(input: BeginTurn): Promise<{ userMessage: Message } & ReadWindow> {
    try {
      return await this.store(input);
    } catch (error) {
      if (isUniqueViolation(error, 'messages_conversation_idempotency_key'))
        throw new IdempotencyKeyTakenError();
      throw error;
    }
  }

  private async store(input: BeginTurn): Promise<{ userMessage: Message } & ReadWindow> {
    const [row] = await this.beginQuery(input);
    const { history, mark, read, ...userMessage } = row;
    return { userMessage, ...readWindow(history, mark, read) };
  }

  /** The window the next turn would read (GET …/context): the same SQL as `begin`'s. */
  async previewWindow(
    conversationId: string,
    before: number,
    window: HistoryWindow,
  ): Promise<ReadWindow> {
    const [row] = await this.previewQuery({ conversationId, before, window });
    return readWindow(row.history, row.mark, row.read);
  }

  /**
   * The window (PromptManager's HistoryWindow) before seq `before`: the newest complete
   * messages whose costs add up to at most maxTokens, at most maxRows of them. `begin`
   * keeps them from the first user message on (chat templates that demand strict
   * alternation reject a prompt whose history opens with a reply).
   */
  private historyWindow(conversationId: string, before: number, window: HistoryWindow) {
    // Only what follows the memory mark (CTE `mark`); one row more than the window may
    // hold tells whether any was left out.
    const recent = this.db
      .selectFrom('messages')
      .select(['id', 'role', 'content', 'tokenCount', 'seq'])
      .where('conversationId', '=', conversationId)
      .where('status', '=', 'complete')
      .where('seq', '<', before)
      .where('seq', '>', sql<number>`coalesce((select seq from mark), -1)`)
      .orderBy('seq', 'desc')
      .limit(sql<number>`${window.maxRows}::int + 1`);
    const running = sql<number>`sum(token_count + ${window.messageOverhead}) over (order by seq desc)`;
    const rank = sql<number>`row_number() over (order by seq desc)`;
    const fitting = this.db
      .selectFrom(recent.as('recent'))
      .select([
        'id',
        'role',
        'content',
        'tokenCount',
        'seq',
        running.as('running'),
        rank.as('rank'),
      ]);
    // The summary sent before the window comes out of its budget.
    const budget = sql<number>`${window.maxTokens}::int - coalesce((select token_count + ${window.summaryOverhead}::int from mark where kind = 'summary'), 0)`;
    return this.db
      .selectFrom(fitting.as('fitting'))
      .select(['id', 'role', 'content', 'tokenCount', 'seq'])
      .select(sql<boolean>`running <= ${budget} and rank <= ${window.maxRows}`.as('fits'));
  }

  /**
   * The newest memory mark before seq `before`: a reset always counts, a summary only
   * with summaries on and if it fits the window's budget.
   */
  private memoryMark(conversationId: string, before: number, window: HistoryWindow) {
    return this.db
      .selectFrom('memoryMarks')
      .select(['messageId', 'seq', 'kind', 'content', 'tokenCount', 'summarizedCount'])
      .where('conversationId', '=', conversationId)
      .where('seq', '<', before)
      .where(
        sql<boolean>`(kind = 'reset' or (${window.summaries}::boolean
          and token_count + ${window.summaryOverhead}::int <= ${window.maxTokens}::int))`,
      )
      .orderBy('seq', 'desc')
      .limit(1);
  }

  /**
   * The window's messages (from its first user message on: chat templates that demand
   * strict alternation reject a prompt whose history opens with a reply), the mark, and how
   * many messages after the mark were read: those not in the history were left out.
   */
  private windowColumns() {
    const db = this.db.withTables<WindowTables>();
    const fits = db
      .selectFrom('kept')
      .select(['id', 'role', 'content', 'tokenCount', 'seq'])
      .where('fits', '=', true);
    return [
      jsonArrayFrom(
        fits
          .where('seq', '>=', (sub) =>
            sub
              .selectFrom('kept')
              .select((k) => k.fn.min('seq').as('seq'))
              .where('fits', '=', true)
              .where('role', '=', 'user'),
          )
          .orderBy('seq'),
      ).as('history'),
      jsonObjectFrom(db.selectFrom('mark').selectAll()).as('mark'),
      db
        .selectFrom('kept')
        .select((k) => k.fn.countAll<string>().as('read'))
        .as('read'),
    ];
  }

  /** Stores how the turn ended and releases the claim if this turn still holds it. */
  async finish(input: FinishTurn): Promise<Message> {
    const [row] = await this.finishQuery(input);
    return row;
  }

  /**
   * How many of the owner's live claims come at or before this turn, in turn-id order
   * (ids are time-ordered). Claims taken at the same moment all see each other here, so
   * the earliest win and the owner's limit holds across processes.
   */
  async claimsUpTo(ownerId: string, turnId: string, deadAfterMs: number): Promise<number> {
    const row = await this.db
      .selectFrom('conversations as c')
      .select((eb) => eb.fn.countAll<string>().as('count'))
      .where('c.ownerId', '=', ownerId)
      .where('c.activeTurnId', '<=', turnId)
      .where(holderAlive(deadAfterMs))
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }

  /** Gives the conversation back when a turn ends before anything was stored. */
  async release(conversationId: string, turnId: string): Promise<void> {
    await this.db
      .updateTable('conversations')
      .set({ activeTurnId: null, activeProcessId: null })
      .where('id', '=', conversationId)
      .where('activeTurnId', '=', turnId)
      .execute();
  }

  /**
   * Writes the text so far of running replies, all in one statement, and says for each
   * whether a cancel was asked for (from any process) and whether its claim still holds.
   */
  async checkpoint(
    checkpoints: Checkpoint[],
  ): Promise<{ turnId: string; cancelRequested: boolean; held: boolean }[]> {
    const rows = this.db.selectNoFrom([
      sql<string>`unnest(${checkpoints.map((c) => c.turnId)}::uuid[])`.as('turnId'),
      sql<string>`unnest(${checkpoints.map((c) => c.content)}::text[])`.as('content'),
      sql<string>`unnest(${checkpoints.map((c) => c.reasoning)}::text[])`.as('reasoning'),
    ]);
    const updated = await this.db
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
      ])
      .execute();
    return updated.map((row) => ({ ...row, held: Boolean(row.held) }));
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

  /** The reply a conversation's claim names while it is being generated, as last checkpointed. */
  async findRunning(ownerId: string, conversationId: string): Promise<Message | undefined> {
    return this.db
      .selectFrom('conversations as c')
      .innerJoin('messages', 'messages.id', 'c.activeTurnId')
      .select(MESSAGE_COLUMNS.map((column) => `messages.${column}` as const))
      .where('c.id', '=', conversationId)
      .where('c.ownerId', '=', ownerId)
      .where('messages.status', '=', 'streaming')
      .executeTakeFirst();
  }

  async findMessage(id: string): Promise<Message | undefined> {
    return this.db
      .selectFrom('messages')
      .select(MESSAGE_COLUMNS)
      .where('id', '=', id)
      .executeTakeFirst();
  }

  /** The user message stored with an Idempotency-Key, if any. */
  async findByIdempotencyKey(
    conversationId: string,
    idempotencyKey: string,
  ): Promise<{ id: string; requestHash: string | null } | undefined> {
    return this.db
      .selectFrom('messages')
      .select(['id', 'requestHash'])
      .where('conversationId', '=', conversationId)
      .where('idempotencyKey', '=', idempotencyKey)
      .executeTakeFirst();
  }

  /** The user message an Idempotency-Key named and the reply stored right after it. */
  async findTurn(
    userMessageId: string,
  ): Promise<{ userMessage: Message; assistantMessage: Message | null } | null> {
    const rows = await this.db
      .selectFrom('messages as u')
      .innerJoin('messages', (join) =>
        join
          .onRef('messages.conversationId', '=', 'u.conversationId')
          .on((eb) => eb('messages.seq', 'in', [eb.ref('u.seq'), eb('u.seq', '+', 1)])),
      )
      .select(MESSAGE_COLUMNS.map((c) => `messages.${c}` as const))
      .where('u.id', '=', userMessageId)
      .orderBy('messages.seq')
      .execute();
    const [userMessage, assistantMessage] = rows;
    return userMessage ? { userMessage, assistantMessage: assistantMessage ?? null } : null;
  }

  /**
   * Finalises the turns of processes that stopped beating: frees their conversations and
   * stores their replies `failed` (turn_interrupted) with the text last checkpointed. A
   * `streaming` reply is always its conversation's claim holder, so the claims name
   * exactly the turns to fail. Reads only running claims (a partial index).
   */
  async sweepDead(deadAfterMs: number): Promise<number> {
    const result = await this.db
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
      .where('id', 'in', (eb) => eb.selectFrom('freed').select('activeTurnId'))
      .where('status', '=', 'streaming')
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /** Forgets processes long gone (their rows only serve liveness checks). */
  async forgetProcesses(olderThanMs: number): Promise<void> {
    await this.db
      .deleteFrom('processes')
      .where('heartbeatAt', '<', sql<Date>`now() - ${olderThanMs} * interval '1 millisecond'`)
      .execute();
  }

  // The turn's three statements, built and compiled once (see preparedQuery).
  private buildClaim(input: ClaimTurn) {
    const { ownerId, conversationId, turnId, idempotencyKey, processId, deadAfterMs } = input;
    return this.db
      .with('target', (db) =>
        db
          .selectFrom('conversations')
          .select(['id', 'activeTurnId'])
          .where('id', '=', conversationId)
          .where('ownerId', '=', ownerId),
      )
      .with('existing', (db) =>
        db
          .selectFrom('messages')
          .select(['id', 'requestHash'])
          .where('conversationId', '=', conversationId)
          .where('idempotencyKey', '=', idempotencyKey),
      )
      .with('running', () => this.liveClaims(ownerId, deadAfterMs))
      .with('claimed', (db) =>
        db
          .updateTable('conversations as c')
          .from('target as t')
          .set((eb) => ({
            activeTurnId: turnId,
            activeProcessId: processId,
            nextSeq: eb('c.nextSeq', '+', 2),
            lastMessageAt: now,
            updatedAt: now,
          }))
          .whereRef('c.id', '=', 't.id')
          .where((eb) =>
            eb.or([eb('c.activeTurnId', 'is', null), eb.not(holderAlive(deadAfterMs))]),
          )
          .where((eb) => eb.not(eb.exists(eb.selectFrom('existing').select('id'))))
          .where((eb) => eb(eb.selectFrom('running').select('count'), '<', input.maxPerOwner))
          .returning((eb) => [
            eb('c.nextSeq', '-', 2).as('userSeq'),
            'c.systemPrompt',
            'c.model',
            'c.temperature',
            'c.topP',
            'c.maxTokens',
            'c.seed',
            't.activeTurnId as previousTurnId',
          ]),
      )
      .selectNoFrom((eb) => [
        eb.exists(eb.selectFrom('target').select('id')).as('found'),
        jsonObjectFrom(eb.selectFrom('claimed').selectAll()).as('claim'),
        eb.selectFrom('existing').select('id').as('replayId'),
        eb.selectFrom('existing').select('requestHash').as('replayHash'),
        eb.selectFrom('running').select('count').as('running'),
      ]);
  }

  /** How many live claims the owner holds (a partial index serves it). */
  private liveClaims(ownerId: string, deadAfterMs: number) {
    return this.db
      .selectFrom('conversations as c')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .where('ownerId', '=', ownerId)
      .where('activeTurnId', 'is not', null)
      .where(holderAlive(deadAfterMs));
  }

  private buildBegin(input: BeginTurn) {
    const { conversationId, userSeq, window } = input;
    return this.db
      .with('orphan', (db) =>
        db
          .updateTable('messages')
          .set({ ...INTERRUPTED, completedAt: now })
          .where('id', '=', input.previousTurnId)
          .where('status', '=', 'streaming')
          .returning('id'),
      )
      .with('inserted', (db) =>
        db
          .insertInto('messages')
          .values([
            {
              id: input.userMessageId,
              conversationId,
              seq: userSeq,
              role: 'user',
              content: input.content,
              status: 'complete',
              tokenCount: input.tokenCount,
              idempotencyKey: input.idempotencyKey,
              requestHash: input.requestHash,
            },
            {
              id: input.turnId,
              conversationId,
              seq: sql<number>`${userSeq}::int + 1`,
              role: 'assistant',
              content: '',
              status: 'streaming',
              model: input.alias,
            },
          ])
          .returning(MESSAGE_COLUMNS),
      )
      .with('mark', () => this.memoryMark(conversationId, userSeq, window))
      .with('kept', () => this.historyWindow(conversationId, userSeq, window))
      .selectFrom('inserted')
      .select(MESSAGE_COLUMNS)
      .where('role', '=', 'user')
      .select(() => this.windowColumns());
  }

  private buildPreview(input: { conversationId: string; before: number; window: HistoryWindow }) {
    const { conversationId, before, window } = input;
    return this.db
      .with('mark', () => this.memoryMark(conversationId, before, window))
      .with('kept', () => this.historyWindow(conversationId, before, window))
      .selectNoFrom(() => this.windowColumns());
  }

  private buildFinish(input: FinishTurn) {
    const { conversationId, turnId } = input;
    const reply = {
      status: input.status,
      content: input.content,
      reasoning: input.reasoning,
      tokenCount: input.tokenCount,
      upstreamModel: input.upstreamModel,
      promptTokens: input.promptTokens,
      completionTokens: input.completionTokens,
      usageEstimated: input.usageEstimated,
      latencyMs: input.latencyMs,
      ttftMs: input.ttftMs,
      finishReason: input.finishReason,
      errorCode: input.errorCode,
      errorMessage: input.errorMessage,
      context: input.context,
    };
    return this.db
      .with('released', (db) =>
        db
          .updateTable('conversations')
          .set({
            activeTurnId: null,
            activeProcessId: null,
            lastMessageAt: now,
            updatedAt: now,
          })
          .where('id', '=', conversationId)
          .where('activeTurnId', '=', turnId)
          .returning('id'),
      )
      .updateTable('messages')
      .set({ ...reply, completedAt: now })
      .where('id', '=', turnId)
      .returning(MESSAGE_COLUMNS);
  }
}
