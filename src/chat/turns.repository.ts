import { Injectable } from '@nestjs/common';
import { sql } from 'kysely';
import { jsonArrayFrom, jsonObjectFrom } from 'kysely/helpers/postgres';

import { Db } from '../database/db';
import { preparedQuery, preparedStatement } from '../database/prepared-query';
import { Message, MESSAGE_COLUMNS } from '../messages/message';
import type { MemoryMark, ReadWindow, WindowMessage } from '../memory/memory-mark';
import { messagePath, NO_LIMIT } from '../messages/message-path';
import type { HistoryWindow } from '../prompts/prompt-manager';

/**
 * Where a turn attaches to the conversation's tree: after the current leaf (a send), as a
 * sibling of a user message (edit), or as a new reply to a stored user message (regenerate).
 */
export type TurnAnchor = 'leaf' | 'edit' | 'regenerate';

/** The stored user message a regenerated turn answers again. */
export interface AnsweredMessage {
  id: string;
  content: string;
  tokenCount: number;
}

/** What a successful claim returns: the conversation's settings as of this turn. */
export interface ClaimedConversation {
  /** The new user message's seq (unused by a regenerate, which stores none). */
  userSeq: number;
  /** The reply's seq. */
  replySeq: number;
  /** The message before this turn's user message: its parent, and where the history ends. */
  parentId: string | null;
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
  | {
      kind: 'claimed';
      conversation: ClaimedConversation;
      /** The user message a regenerate answers again (null otherwise). */
      answered: AnsweredMessage | null;
      running: number;
    }
  | { kind: 'not_found' }
  /** The anchor message is not in this conversation. */
  | { kind: 'message_not_found' }
  /** The anchor message has the wrong role for its anchor (an assistant message to edit). */
  | { kind: 'wrong_role' }
  | { kind: 'busy' }
  | { kind: 'limit' }
  /** `messageId`: the message holding the Idempotency-Key (the user message, or a regenerated reply). */
  | { kind: 'replay'; messageId: string; requestHash: string | null };

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
  anchor: TurnAnchor;
  /** The message an edit or a regenerate names; null for a send. */
  anchorId: string | null;
}

export interface BeginTurn {
  conversationId: string;
  turnId: string;
  userMessageId: string;
  userSeq: number;
  replySeq: number;
  /** The new user message's parent; the history is the path ending here. */
  parentId: string | null;
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

interface ClaimsUpTo {
  ownerId: string;
  turnId: string;
  deadAfterMs: number;
}

interface Release {
  conversationId: string;
  turnId: string;
}

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

/**
 * Whether the claim's anchor (the `anchor` CTE) suits the turn: a send needs none, an
 * edit a user message, a regenerate a user message or a reply to one.
 */
const anchorFits = (anchor: TurnAnchor) =>
  sql<boolean>`case ${anchor}::text when 'leaf' then true
    when 'edit' then exists (select 1 from anchor where role = 'user')
    else exists (select 1 from anchor where answered_id is not null) end`;

/** The parent of the turn's user message (for a regenerate, of the one it answers again). */
const turnParent = (anchor: TurnAnchor) =>
  sql<string | null>`case ${anchor}::text when 'leaf' then c.current_leaf_id
    when 'edit' then (select parent_id from anchor)
    else (select answered_parent_id from anchor) end`;

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
  private readonly regenerateQuery;
  private readonly finishQuery;
  private readonly previewQuery;
  private readonly claimsUpToQuery;
  private readonly releaseQuery;
  private readonly sweepDeadStatement;

  constructor(private readonly db: Db) {
    this.claimQuery = preparedQuery(db, (input: ClaimTurn) => this.buildClaim(input));
    this.beginQuery = preparedQuery(db, (input: BeginTurn) => this.buildBegin(input));
    this.regenerateQuery = preparedQuery(db, (input: BeginTurn) => this.buildRegenerate(input));
    this.finishQuery = preparedQuery(db, (input: FinishTurn) => this.buildFinish(input));
    this.previewQuery = preparedQuery(db, (input: Parameters<TurnsRepository['buildPreview']>[0]) =>
      this.buildPreview(input),
    );
    // Not one of the turn's three statements, but run with each turn (or each second).
    this.claimsUpToQuery = preparedQuery(db, (input: ClaimsUpTo) => this.buildClaimsUpTo(input));
    this.releaseQuery = preparedQuery(db, (input: Release) => this.buildRelease(input));
    this.sweepDeadStatement = preparedStatement(db, (input: { deadAfterMs: number }) =>
      this.buildSweepDead(input.deadAfterMs),
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
    if (input.anchorId !== null && !row.anchorFound) return { kind: 'message_not_found' };
    if (!row.anchorFits) return { kind: 'wrong_role' };
    if (row.replayId)
      return { kind: 'replay', messageId: row.replayId, requestHash: row.replayHash };
    if (row.claim) {
      const { claim: conversation, answered } = row;
      return { kind: 'claimed', conversation, answered, running: Number(row.running) };
    }
    return Number(row.running) >= input.maxPerOwner ? { kind: 'limit' } : { kind: 'busy' };
  }

  /**
   * Stores the user message and the assistant placeholder (one INSERT), makes the reply the
   * conversation's current leaf, finalises a crashed turn this claim replaced, and reads the
   * history window along the path — one statement, so the history read sees the
   * conversation as it was before this turn. A regenerate (`answered`) stores only the reply.
   */
  async begin(
    input: BeginTurn,
    answered: AnsweredMessage | null = null,
  ): Promise<{ userMessage: Message } & ReadWindow> {
    try {
      return await this.store(input, answered);
    } catch (error) {
      if (isUniqueViolation(error, 'messages_conversation_idempotency_key'))
        throw new IdempotencyKeyTakenError();
      throw error;
    }
  }

  private async store(
    input: BeginTurn,
    answered: AnsweredMessage | null,
  ): Promise<{ userMessage: Message } & ReadWindow> {
    const [row] = answered
      ? await this.regenerateQuery({ ...input, userMessageId: answered.id })
      : await this.beginQuery(input);
    const { history, mark, read, ...userMessage } = row;
    return { userMessage, ...readWindow(history, mark, read) };
  }

  /** The window the next turn would read (GET …/context): the same SQL as `begin`'s. */
  async previewWindow(
    conversationId: string,
    lastId: string | null,
    window: HistoryWindow,
  ): Promise<ReadWindow> {
    const [row] = await this.previewQuery({ conversationId, lastId, window });
    return readWindow(row.history, row.mark, row.read);
  }

  /**
   * The window (PromptManager's HistoryWindow) of the path ending at `lastId`, after the
   * memory mark (CTE `mark`): its newest complete messages whose costs add up to at most
   * maxTokens less the summary's cost, at most maxRows walked. The walk stops where the
   * budget does, so a 10,000-message path reads what a 10-message one does; it reads one
   * message past the budget (`fits` false), which tells whether any was left out.
   */
  private historyWindow(conversationId: string, lastId: string | null, window: HistoryWindow) {
    // Fields named one by one: in a prepared build `window` is a stand-in that cannot be spread.
    const { maxRows, messageOverhead } = window;
    // The summary sent before the window comes out of its budget.
    const budget = sql<number>`(${window.maxTokens}::int - coalesce((select token_count
      + ${window.summaryOverhead}::int from mark where kind = 'summary'), 0))`;
    const path = messagePath(this.db, {
      conversationId,
      lastId,
      maxRows: sql<number>`(${maxRows}::int + 1)`,
      maxTokens: budget,
      messageOverhead,
      afterSeq: sql<number>`(coalesce((select seq from mark), -1))`,
      content: true,
    });
    return this.db
      .selectFrom(path.as('path'))
      .select(['path.id', 'path.role', 'path.content', 'path.tokenCount', 'path.seq'])
      .select(sql<boolean>`path.running <= ${budget} and path.depth <= ${maxRows}::int`.as('fits'))
      .where('path.status', '=', 'complete');
  }

  /**
   * The newest memory mark on the path ending at `lastId` (a mark holds for every path
   * through its message): a reset always counts, a summary only with summaries on and if it
   * fits the window's budget. The walk stops at the first such mark (at most maxRows
   * messages), and is skipped when the conversation has no mark at all.
   */
  private memoryMark(conversationId: string, lastId: string | null, window: HistoryWindow) {
    const usable = sql<boolean>`(mm.kind = 'reset' or (${window.summaries}::boolean
      and mm.token_count + ${window.summaryOverhead}::int <= ${window.maxTokens}::int))`;
    const path = messagePath(this.db, {
      conversationId,
      lastId,
      maxRows: window.maxRows,
      maxTokens: NO_LIMIT,
      messageOverhead: 0,
      stopAfter: (id) =>
        sql<boolean>`exists (select 1 from memory_marks mm where mm.message_id = ${id} and ${usable})`,
    });
    return this.db
      .selectFrom(path.as('path'))
      .innerJoin('memoryMarks as mm', 'mm.messageId', 'path.id')
      .select(['mm.messageId', 'mm.seq', 'mm.kind', 'mm.content', 'mm.tokenCount'])
      .select('mm.summarizedCount')
      .where(usable)
      .where(({ exists, selectFrom }) =>
        exists(
          selectFrom('memoryMarks')
            .select('messageId')
            .where('conversationId', '=', conversationId),
        ),
      )
      .orderBy('path.depth')
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
    const [row] = await this.claimsUpToQuery({ ownerId, turnId, deadAfterMs });
    return Number(row.count);
  }

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

  /**
   * The turn an Idempotency-Key named, from the message holding the key: a user message and
   * the reply stored with it (the next seq), or a regenerated reply and the user message it
   * answered (its parent).
   */
  async findTurn(
    keyedMessageId: string,
  ): Promise<{ userMessage: Message; assistantMessage: Message | null } | null> {
    const rows = await this.db
      .selectFrom('messages as k')
      .innerJoin('messages', (join) =>
        join
          .onRef('messages.conversationId', '=', 'k.conversationId')
          .on((eb) =>
            eb.or([
              eb('messages.id', '=', eb.ref('k.id')),
              eb.and([eb('k.role', '=', 'user'), eb('messages.seq', '=', eb('k.seq', '+', 1))]),
              eb.and([
                eb('k.role', '=', 'assistant'),
                eb('messages.id', '=', eb.ref('k.parentId')),
              ]),
            ]),
          ),
      )
      .select(MESSAGE_COLUMNS.map((c) => `messages.${c}` as const))
      .where('k.id', '=', keyedMessageId)
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
    const result = await this.sweepDeadStatement({ deadAfterMs });
    return Number(result.numAffectedRows ?? 0);
  }

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
    const { anchor } = input;
    return this.db
      .with('anchor', () => this.anchorMessage(input))
      .with('target', () => this.ownedConversation(ownerId, conversationId))
      .with('existing', () => this.keyedMessage(conversationId, idempotencyKey))
      .with('running', () => this.liveClaims(ownerId, deadAfterMs))
      .with('claimed', (db) =>
        db
          .updateTable('conversations as c')
          .from('target as t')
          .set({
            activeTurnId: turnId,
            activeProcessId: processId,
            // A regenerate stores one message, the others two.
            nextSeq: sql<number>`c.next_seq + case when ${anchor}::text = 'regenerate' then 1 else 2 end`,
            lastMessageAt: now,
            updatedAt: now,
          })
          .whereRef('c.id', '=', 't.id')
          .where((eb) =>
            eb.or([eb('c.activeTurnId', 'is', null), eb.not(holderAlive(deadAfterMs))]),
          )
          .where((eb) => eb.not(eb.exists(eb.selectFrom('existing').select('id'))))
          .where((eb) => eb(eb.selectFrom('running').select('count'), '<', input.maxPerOwner))
          .where(anchorFits(anchor))
          .returning((eb) => [
            eb('c.nextSeq', '-', 2).as('userSeq'),
            eb('c.nextSeq', '-', 1).as('replySeq'),
            turnParent(anchor).as('parentId'),
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
        eb.exists(eb.selectFrom('anchor').select('id')).as('anchorFound'),
        anchorFits(anchor).as('anchorFits'),
        jsonObjectFrom(
          eb
            .selectFrom('anchor')
            .select([
              'answeredId as id',
              'answeredContent as content',
              'answeredTokens as tokenCount',
            ])
            .where('answeredId', 'is not', null)
            .$narrowType<AnsweredMessage>(),
        ).as('answered'),
      ]);
  }

  private ownedConversation(ownerId: string, conversationId: string) {
    return this.db
      .selectFrom('conversations')
      .select(['id', 'activeTurnId'])
      .where('id', '=', conversationId)
      .where('ownerId', '=', ownerId);
  }

  /** The message an Idempotency-Key is stored on, if any. */
  private keyedMessage(conversationId: string, idempotencyKey: string | null) {
    return this.db
      .selectFrom('messages')
      .select(['id', 'requestHash'])
      .where('conversationId', '=', conversationId)
      .where('idempotencyKey', '=', idempotencyKey);
  }

  /**
   * The message an edit or a regenerate names, if it is in this conversation (none for a
   * send), and for a regenerate the user message it answers again: the message itself when
   * it is a user message, else the user message its reply answered.
   */
  private anchorMessage(input: ClaimTurn) {
    const answersTo = sql<string>`case when a.role = 'assistant' then a.parent_id else a.id end`;
    return this.db
      .selectFrom('messages as a')
      .leftJoin('messages as u', (join) =>
        join
          .on('u.id', '=', answersTo)
          .onRef('u.conversationId', '=', 'a.conversationId')
          .on('u.role', '=', 'user')
          .on(sql<boolean>`${input.anchor}::text = 'regenerate'`),
      )
      .select(['a.id', 'a.role', 'a.parentId'])
      .select([
        'u.id as answeredId',
        'u.parentId as answeredParentId',
        'u.content as answeredContent',
        'u.tokenCount as answeredTokens',
      ])
      .where('a.id', '=', input.anchorId)
      .where('a.conversationId', '=', input.conversationId);
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
    const { conversationId, window } = input;
    return this.db
      .with('orphan', () => this.finaliseOrphan(input))
      .with('inserted', (db) =>
        db
          .insertInto('messages')
          .values([
            {
              id: input.userMessageId,
              conversationId,
              parentId: input.parentId,
              seq: input.userSeq,
              role: 'user',
              content: input.content,
              status: 'complete',
              tokenCount: input.tokenCount,
              idempotencyKey: input.idempotencyKey,
              requestHash: input.requestHash,
            },
            { ...this.placeholder(input), parentId: input.userMessageId },
          ])
          .returning(MESSAGE_COLUMNS),
      )
      .with('leaf', () => this.moveLeaf(input))
      .with('mark', () => this.memoryMark(conversationId, input.parentId, window))
      .with('kept', () => this.historyWindow(conversationId, input.parentId, window))
      .selectFrom('inserted')
      .select(MESSAGE_COLUMNS)
      .where('role', '=', 'user')
      .select(() => this.windowColumns());
  }

  private buildPreview(input: {
    conversationId: string;
    lastId: string | null;
    window: HistoryWindow;
  }) {
    const { conversationId, lastId, window } = input;
    return this.db
      .with('mark', () => this.memoryMark(conversationId, lastId, window))
      .with('kept', () => this.historyWindow(conversationId, lastId, window))
      .selectNoFrom(() => this.windowColumns());
  }

  /**
   * A regenerate: only the reply is stored, beside the earlier replies to the user message
   * (`userMessageId`, which keeps its seq); the Idempotency-Key goes on the reply.
   */
  private buildRegenerate(input: BeginTurn) {
    const { conversationId, window } = input;
    return this.db
      .with('orphan', () => this.finaliseOrphan(input))
      .with('inserted', (db) =>
        db
          .insertInto('messages')
          .values({
            ...this.placeholder(input),
            parentId: input.userMessageId,
            idempotencyKey: input.idempotencyKey,
            requestHash: input.requestHash,
          })
          .returning('id'),
      )
      .with('leaf', () => this.moveLeaf(input))
      .with('mark', () => this.memoryMark(conversationId, input.parentId, window))
      .with('kept', () => this.historyWindow(conversationId, input.parentId, window))
      .selectFrom('messages')
      .select(MESSAGE_COLUMNS)
      .where('id', '=', input.userMessageId)
      .where('conversationId', '=', conversationId)
      .select(() => this.windowColumns());
  }

  /** The reply's row while it is generated. */
  private placeholder(input: BeginTurn) {
    return {
      id: input.turnId,
      conversationId: input.conversationId,
      seq: input.replySeq,
      role: 'assistant',
      content: '',
      status: 'streaming',
      model: input.alias,
    } as const;
  }

  /** Stores as interrupted the reply of the crashed turn whose claim this one replaced. */
  private finaliseOrphan(input: BeginTurn) {
    return this.db
      .updateTable('messages')
      .set({ ...INTERRUPTED, completedAt: now })
      .where('id', '=', input.previousTurnId)
      .where('status', '=', 'streaming')
      .returning('id');
  }

  /** The new reply becomes the end of the path the conversation shows. */
  private moveLeaf(input: BeginTurn) {
    return this.db
      .updateTable('conversations')
      .set({ currentLeafId: input.turnId })
      .where('id', '=', input.conversationId)
      .where('activeTurnId', '=', input.turnId)
      .returning('id');
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
