import { Injectable } from '@nestjs/common';
import { InsertObject, Kysely, sql } from 'kysely';
import { jsonObjectFrom } from 'kysely/helpers/postgres';

import { holderAlive } from '../cluster/processes.repository';
import { isUniqueViolation } from '../common/errors/database-errors';
import { Db } from '../database/db';
import type { DB, Message as MessageRow } from '../generated/kysely/database';
import { GenerateSql } from '../database/generate-sql';
import { preparedQuery } from '../database/prepared-query';
import {
  memoryMarkOf,
  readWindow,
  windowColumns,
  windowMessagesOf,
} from '../history/history-window';
import type { ReadWindow } from '../history/memory-mark';
import { Message, MESSAGE_COLUMNS } from '../history/message';
import type { ToolCall } from '../llm/llm.types';
import {
  AnsweredMessage,
  BeginToolResults,
  BeginTurn,
  ClaimOutcome,
  ClaimTurn,
  FinishTurn,
  IdempotencyKeyTakenError,
  INTERRUPTED,
  OwnerLimit,
  ToolMessageRow,
  TurnLimitReachedError,
} from './turns.types';
import { anchorFits, seqStep, turnParent } from './turn-anchors';

const now = sql<Date>`now()`;

/** In a begin statement: whether the turn is within its owner's limit (see withinLimit). */
const withinIt = sql<boolean>`(select ok from within)`;

/**
 * `insert into messages (…) select … from within where ok`: the row, stored only when the
 * turn is within its owner's limit. The SELECT of an INSERT leaves its untyped parameters
 * to the columns' types, as VALUES does.
 */
function gatedInsert(db: Kysely<DB>, row: InsertObject<DB, 'messages'>) {
  const columns = Object.keys(row) as (keyof MessageRow)[];
  return db
    .insertInto('messages')
    .columns(columns)
    .expression(
      db.selectNoFrom(columns.map((column) => sql`${row[column]}`.as(column))).where(withinIt),
    );
}

/** The conversation's settings a claim reads for its turn. */
const CLAIMED_SETTINGS = [
  ...['c.systemPrompt', 'c.model', 'c.temperature', 'c.topP', 'c.maxTokens', 'c.seed'],
  ...['c.tools', 'c.serverTools'],
] as const;

/** Tool messages as jsonb_populate_recordset reads them: keyed by the messages columns. */
function toolMessagesJson(input: BeginToolResults): string {
  return JSON.stringify(
    input.results.map((r) => ({
      ...{ id: r.id, parent_id: r.parentId, seq: r.seq, tool_call_id: r.toolCallId },
      ...{ content: r.content, token_count: r.tokenCount },
    })),
  );
}
/**
 * A turn's two times, true to the microsecond and in order: the user message is stored by
 * the statement that began at statement_timestamp(), the reply begins when its row is
 * made in it (clock_timestamp(), which moves on during a statement, unlike now()).
 */
const stored = sql<Date>`statement_timestamp()`;
const began = sql<Date>`clock_timestamp()`;

/**
 * The SQL of one chat turn, folded into as few round trips as it takes:
 * claim (1), begin = recount the owner's claims + store user message + assistant
 * placeholder + read history (1), finish = store reply + release claim (1). Data-modifying CTEs always run to completion,
 * whether or not the final SELECT reads them.
 */
@Injectable()
export class TurnsRepository {
  private readonly claimQuery;
  private readonly beginQuery;
  private readonly regenerateQuery;
  private readonly finishQuery;
  private readonly toolResultsQuery;

  constructor(private readonly db: Db) {
    this.claimQuery = preparedQuery(db, (input: ClaimTurn) => this.buildClaim(input));
    this.beginQuery = preparedQuery(db, (input: BeginTurn) => this.buildBegin(input));
    this.regenerateQuery = preparedQuery(db, (input: BeginTurn) => this.buildRegenerate(input));
    this.finishQuery = preparedQuery(db, (input: FinishTurn & { toolCallsJson: string | null }) =>
      this.buildFinish(input),
    );
    this.toolResultsQuery = preparedQuery(db, (input: BeginToolResults & { resultsJson: string }) =>
      this.buildToolResults(input),
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
    // A replay first: its anchor may have moved on (tool results answered a waiting reply).
    if (row.replayId)
      return { kind: 'replay', messageId: row.replayId, requestHash: row.replayHash };
    if (!row.anchorFits) return { kind: 'wrong_role' };
    if (row.claim) {
      const { claim: conversation, answered } = row;
      const waiting = input.anchor === 'tool_results' ? (row.waiting ?? []) : null;
      return { kind: 'claimed', conversation, answered, waiting, running: Number(row.running) };
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
    if (!row) throw new TurnLimitReachedError();
    const { history, mark, read, ...userMessage } = row;
    return { userMessage, ...readWindow(history, mark, read) };
  }

  /** Stores tool results and the reply placeholder after them, and reads the window (see begin). */
  async beginToolResults(
    input: BeginToolResults,
  ): Promise<{ userMessage: Message; toolMessages: Message[] } & ReadWindow> {
    try {
      const rows = await this.toolResultsQuery({ ...input, resultsJson: toolMessagesJson(input) });
      if (rows.length === 0) throw new TurnLimitReachedError();
      const [{ history, mark, read }] = rows;
      const toolMessages = rows.map(({ history: _h, mark: _m, read: _r, ...message }) => message);
      const userMessage = toolMessages[toolMessages.length - 1];
      return { userMessage, toolMessages, ...readWindow(history, mark, read) };
    } catch (error) {
      if (isUniqueViolation(error, 'messages_conversation_idempotency_key'))
        throw new IdempotencyKeyTakenError();
      throw error;
    }
  }

  /** Stores how the turn ended and releases the claim if this turn still holds it. */
  async finish(input: FinishTurn): Promise<Message> {
    // A JSON array as text: pg would send a JS array as a PostgreSQL array.
    const toolCallsJson = input.toolCalls && JSON.stringify(input.toolCalls);
    const [row] = await this.finishQuery({ ...input, toolCallsJson });
    return row;
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

  /** A finished reply's event boundaries (see stream-marks.ts); empty when none were stored. */
  async findStreamMarks(id: string): Promise<number[]> {
    const row = await this.db
      .selectFrom('messages')
      .select('streamMarks')
      .where('id', '=', id)
      .executeTakeFirst();
    return row?.streamMarks ?? [];
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
   * The turn an Idempotency-Key named, from the message holding the key (the user message,
   * or a regenerated reply): the user message it answers and its newest reply from the key
   * on, which is a later one when a failed reply was generated again in place.
   */
  async findTurn(
    keyedMessageId: string,
  ): Promise<{ userMessage: Message; assistantMessage: Message | null } | null> {
    const userId = sql<string>`case when k.role = 'user' then k.id else k.parent_id end`;
    const rows = await this.db
      .selectFrom('messages as k')
      .innerJoin('messages', (join) =>
        join
          .onRef('messages.conversationId', '=', 'k.conversationId')
          .on((eb) =>
            eb.or([
              eb('messages.id', '=', userId),
              eb.and([
                eb('messages.parentId', '=', userId),
                eb('messages.role', '=', 'assistant'),
                eb('messages.seq', '>=', eb.ref('k.seq')),
              ]),
            ]),
          ),
      )
      .select(MESSAGE_COLUMNS.map((c) => `messages.${c}` as const))
      .where('k.id', '=', keyedMessageId)
      .orderBy('messages.seq')
      .execute();
    const [userMessage, ...replies] = rows;
    return userMessage ? { userMessage, assistantMessage: replies.at(-1) ?? null } : null;
  }

  // The turn's statements, built and compiled once (see preparedQuery).
  @GenerateSql()
  private buildClaim(input: ClaimTurn) {
    const { ownerId, conversationId, turnId, processId, deadAfterMs, anchor } = input;
    return this.db
      .with('anchor', () => this.anchorMessage(input))
      .with('target', () => this.ownedConversation(ownerId, conversationId))
      .with('existing', () => this.keyedMessage(conversationId, input.idempotencyKey))
      .with('running', () => this.liveClaims(ownerId, deadAfterMs))
      .with('claimed', (db) =>
        db
          .updateTable('conversations as c')
          .from('target as t')
          .set({
            activeTurnId: turnId,
            activeProcessId: processId,
            nextSeq: sql<number>`c.next_seq + ${seqStep(input.inputCount)}`,
            lastMessageAt: now,
            updatedAt: now,
          })
          .whereRef('c.id', '=', 't.id')
          .where(
            sql<boolean>`(c.active_turn_id is null or not ${holderAlive(deadAfterMs)}
            or c.active_turn_id = ${input.handoverFrom})`,
          )
          .where((eb) => eb.not(eb.exists(eb.selectFrom('existing').select('id'))))
          // A handover replaces a claim of the owner's: it counts once, as it did.
          .where(
            sql<boolean>`((select count from running) < ${input.maxPerOwner}
            or c.active_turn_id = ${input.handoverFrom})`,
          )
          .where(anchorFits(anchor))
          .returning((eb) => [
            sql<number>`c.next_seq - 1 - ${input.inputCount}::int`.as('userSeq'),
            eb('c.nextSeq', '-', 1).as('replySeq'),
            turnParent(anchor).as('parentId'),
            ...CLAIMED_SETTINGS,
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
        eb.selectFrom('anchor').select('toolCalls').as('waiting'),
        jsonObjectFrom(
          eb
            .selectFrom('anchor')
            .select(['answeredId as id', 'answeredContent as content'])
            .select(['answeredTokens as tokenCount', 'answeredSpeaker as speakerName'])
            .select('answeredRole as role')
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
          .on('u.role', 'in', ['user', 'tool'])
          .on(sql<boolean>`${input.anchor}::text = 'regenerate'`),
      )
      .select(['a.id', 'a.role', 'a.parentId', 'a.status', 'a.toolCalls'])
      .select([
        'u.id as answeredId',
        'u.parentId as answeredParentId',
        'u.content as answeredContent',
        'u.tokenCount as answeredTokens',
        'u.speakerName as answeredSpeaker',
        'u.role as answeredRole',
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

  @GenerateSql()
  private buildBegin(input: BeginTurn) {
    const { conversationId, window } = input;
    // The rows' snake_case keys are the table's columns (see attachmentRowsJson).
    const attachments = sql<{ messageId: string; fileId: string; position: number }>`
      jsonb_populate_recordset(null::message_attachments, ${input.attachmentsJson}::jsonb)`.as('a');
    return (
      this.db
        .with('within', () => this.withinLimit(input))
        .with('orphan', () => this.finaliseOrphan(input))
        .with('inserted', () =>
          gatedInsert(this.db, {
            id: input.userMessageId,
            conversationId,
            ownerId: input.ownerId,
            parentId: input.parentId,
            seq: input.userSeq,
            role: 'user',
            content: input.content,
            speakerName: input.speakerName,
            metadata: input.metadata,
            status: 'complete',
            tokenCount: input.tokenCount,
            idempotencyKey: input.idempotencyKey,
            requestHash: input.requestHash,
            // Stored, so complete, when this statement began; its reply begins after.
            createdAt: stored,
            completedAt: stored,
          }).returning(MESSAGE_COLUMNS),
        )
        .with('reply', () =>
          gatedInsert(this.db, { ...this.placeholder(input), parentId: input.userMessageId }),
        )
        // The user message's files (checked to be the owner's before the turn claimed), in order.
        .with('attached', (db) =>
          db
            .insertInto('messageAttachments')
            .columns(['messageId', 'fileId', 'position'])
            .expression((eb) =>
              eb
                .selectFrom(attachments)
                .innerJoin('inserted', 'inserted.id', 'a.messageId')
                .select(['a.messageId', 'a.fileId', 'a.position']),
            ),
        )
        .with('leaf', () => this.moveLeaf(input))
        .with('mark', () => memoryMarkOf(this.db, conversationId, input.parentId, window))
        .with('kept', () => windowMessagesOf(this.db, conversationId, input.parentId, window))
        .selectFrom('inserted')
        .select(MESSAGE_COLUMNS)
        .select(() => windowColumns(this.db))
    );
  }

  /**
   * A regenerate: only the reply is stored, beside the earlier replies to the user message
   * (`userMessageId`, which keeps its seq); the Idempotency-Key goes on the reply.
   */
  @GenerateSql()
  private buildRegenerate(input: BeginTurn) {
    const { conversationId, window } = input;
    return this.db
      .with('within', () => this.withinLimit(input))
      .with('orphan', () => this.finaliseOrphan(input))
      .with('inserted', () => gatedInsert(this.db, this.keyedPlaceholder(input)))
      .with('leaf', () => this.moveLeaf(input))
      .with('mark', () => memoryMarkOf(this.db, conversationId, input.parentId, window))
      .with('kept', () => windowMessagesOf(this.db, conversationId, input.parentId, window))
      .selectFrom('messages')
      .select(MESSAGE_COLUMNS)
      .where('id', '=', input.userMessageId)
      .where('conversationId', '=', conversationId)
      .where(withinIt)
      .select(() => windowColumns(this.db));
  }

  /**
   * Tool results: the tool messages are stored after the reply that waited for them (which
   * is then complete), the new reply after the last of them; the history is the path
   * ending at the waiting reply. One row per tool message, each with the window's columns.
   */
  @GenerateSql()
  private buildToolResults(input: BeginToolResults & { resultsJson: string }) {
    const { conversationId, window } = input;
    // The messages row type reads the rows' snake_case keys (see toolMessagesJson).
    const results = sql<ToolMessageRow>`jsonb_populate_recordset(null::messages,
      ${input.resultsJson}::jsonb)`.as('r');
    return this.db
      .with('within', () => this.withinLimit(input))
      .with('orphan', () => this.finaliseOrphan(input))
      .with('resumed', (db) =>
        db
          .updateTable('messages')
          .set({ status: 'complete' })
          .where('id', '=', input.parentId)
          .where('status', '=', 'requires_action')
          .where(withinIt)
          .returning('id'),
      )
      .with('results', (db) =>
        db
          .insertInto('messages')
          .columns([
            ...(['id', 'conversationId', 'ownerId', 'parentId', 'seq', 'role', 'content'] as const),
            ...(['toolCallId', 'status', 'tokenCount', 'createdAt', 'completedAt'] as const),
          ])
          .expression((eb) =>
            eb
              .selectFrom(results)
              .select(['r.id', sql<string>`${conversationId}::uuid`.as('conversationId')])
              .select(sql<string>`${input.ownerId}::text`.as('ownerId'))
              .select(['r.parentId', 'r.seq', sql<'tool'>`'tool'::"MessageRole"`.as('role')])
              .select(['r.content', 'r.toolCallId'])
              .select(sql<'complete'>`'complete'::"MessageStatus"`.as('status'))
              .select(['r.tokenCount', stored.as('createdAt'), stored.as('completedAt')])
              .where(withinIt),
          )
          .returning(MESSAGE_COLUMNS),
      )
      .with('inserted', () => gatedInsert(this.db, this.keyedPlaceholder(input)))
      .with('leaf', () => this.moveLeaf(input))
      .with('mark', () => memoryMarkOf(this.db, conversationId, input.parentId, window))
      .with('kept', () => windowMessagesOf(this.db, conversationId, input.parentId, window))
      .selectFrom('results')
      .select(MESSAGE_COLUMNS)
      .select(() => windowColumns(this.db))
      .orderBy('seq');
  }

  /** The reply's row while it is generated. */
  private placeholder(input: BeginTurn) {
    return {
      id: input.turnId,
      conversationId: input.conversationId,
      ownerId: input.ownerId,
      seq: input.replySeq,
      role: 'assistant',
      content: '',
      status: 'streaming',
      model: input.alias,
      createdAt: began,
    } as const;
  }

  /** The placeholder of a reply that holds the turn's Idempotency-Key (no new user message). */
  private keyedPlaceholder(input: BeginTurn) {
    return {
      ...this.placeholder(input),
      parentId: input.userMessageId,
      idempotencyKey: input.idempotencyKey,
      requestHash: input.requestHash,
    };
  }

  /**
   * Whether this turn is among the owner's first `maxPerOwner` live claims, in turn-id
   * order (ids are time-ordered). The claim counted the owner's running replies from its
   * own snapshot, so claims taken at the same moment on several conversations all saw room
   * for one more; begin runs after its claim committed and counts again from a later
   * snapshot, so the earliest win, the rest store nothing, and the owner's limit holds
   * across processes. Begin's writes all wait on it (see gatedInsert and withinIt).
   */
  private withinLimit(input: OwnerLimit & { turnId: string }) {
    return this.db
      .selectFrom('conversations as c')
      .select((eb) => eb(eb.fn.countAll(), '<=', input.maxPerOwner).as('ok'))
      .where('c.ownerId', '=', input.ownerId)
      .where('c.activeTurnId', '<=', input.turnId)
      .where(holderAlive(input.deadAfterMs));
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
      .where(withinIt)
      .returning('id');
  }

  @GenerateSql()
  private buildFinish(input: FinishTurn & { toolCallsJson: string | null }) {
    const { conversationId, turnId } = input;
    const reply = {
      status: input.status,
      content: input.content,
      reasoning: input.reasoning,
      toolCalls: sql<ToolCall[] | null>`${input.toolCallsJson}::jsonb`,
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
      model: input.alias,
      context: input.context,
      streamMarks: sql<number[]>`${input.streamMarks}::int[]`,
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
          .where(sql<boolean>`${input.release}::boolean`)
          .returning('id'),
      )
      .updateTable('messages')
      .set({ ...reply, completedAt: now })
      .where('id', '=', turnId)
      .returning(MESSAGE_COLUMNS);
  }
}
