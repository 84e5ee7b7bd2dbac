import { Injectable } from '@nestjs/common';

import type { Message } from '../generated/prisma/client';
import { PrismaService } from '../database/prisma.service';
import type { HistoryMessage } from '../prompts/prompt-manager';

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
  | { kind: 'claimed'; conversation: ClaimedConversation }
  | { kind: 'not_found' }
  | { kind: 'busy'; activeTurnId: string | null }
  | { kind: 'replay'; userMessageId: string; requestHash: string | null };

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
  /** Bounds on the history read: at most this many rows, at most this many tokens. */
  historyRows: number;
  historyTokens: number;
  messageOverhead: number;
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
}

/** Raw message rows as SQL returns them (RETURNING with camelCase aliases, JSON dates). */
type RawMessage = Omit<Message, 'createdAt' | 'completedAt'> & {
  createdAt: string;
  completedAt: string | null;
};

const MESSAGE_COLUMNS = `id, conversation_id AS "conversationId", seq, role, content, reasoning, status,
  token_count AS "tokenCount", model, upstream_model AS "upstreamModel", prompt_tokens AS "promptTokens",
  completion_tokens AS "completionTokens", usage_estimated AS "usageEstimated", latency_ms AS "latencyMs",
  ttft_ms AS "ttftMs", finish_reason AS "finishReason", error_code AS "errorCode", error_message AS "errorMessage",
  idempotency_key AS "idempotencyKey", request_hash AS "requestHash", created_at AS "createdAt",
  completed_at AS "completedAt"`;

function toMessage(raw: RawMessage): Message {
  return {
    ...raw,
    createdAt: new Date(raw.createdAt),
    completedAt: raw.completedAt ? new Date(raw.completedAt) : null,
  };
}

/**
 * The SQL of one chat turn, folded into as few round trips as it takes:
 * claim (1), begin = store user message + assistant placeholder + read history (1),
 * finish = store reply + release claim (1). Data-modifying CTEs always run to completion,
 * whether or not the final SELECT reads them.
 */
@Injectable()
export class TurnsRepository {
  constructor(private readonly prisma: PrismaService) {}

  // The turn's SQL goes straight to the pool Prisma itself uses: through $queryRaw each
  // statement also paid for Prisma's query engine, the largest CPU cost of a turn in the
  // benchmark (bench/), while this SQL needs nothing from it.
  // Named, so each pooled connection parses and plans these long CTEs once, not per turn.
  private async rows<T>(name: string, text: string, values: unknown[]): Promise<T[]> {
    return (await this.prisma.pool.query({ name, text, values })).rows as T[];
  }

  private async execute(name: string, text: string, values: unknown[]): Promise<number> {
    return (await this.prisma.pool.query({ name, text, values })).rowCount ?? 0;
  }

  /**
   * Takes the conversation for one turn unless another live turn holds it. The condition
   * is on the row being updated, so concurrent claims serialise on its lock and exactly
   * one wins. A claim whose holder stopped renewing it (crash) expires.
   */
  async claim(input: {
    ownerId: string;
    conversationId: string;
    turnId: string;
    ttlMs: number;
    idempotencyKey: string | null;
  }): Promise<ClaimOutcome> {
    const { ownerId, conversationId, turnId, ttlMs, idempotencyKey } = input;
    const rows = await this.rows<{
      found: boolean;
      active_turn_id: string | null;
      claim:
        (Omit<ClaimedConversation, 'previousTurnId'> & { previousTurnId: string | null }) | null;
      replay_id: string | null;
      replay_hash: string | null;
    }>(
      'turn_claim',
      `WITH target AS (
         SELECT id, active_turn_id, active_turn_expires_at FROM conversations WHERE id = $1::uuid AND owner_id = $2
       ), existing AS (
         SELECT m.id, m.request_hash FROM messages m
         WHERE $3::text IS NOT NULL AND m.conversation_id = $1::uuid AND m.idempotency_key = $3
       ), claimed AS (
         UPDATE conversations c
         SET active_turn_id = $4::uuid,
             active_turn_expires_at = now() + $5 * interval '1 millisecond',
             next_seq = c.next_seq + 2,
             last_message_at = now(),
             updated_at = now()
         FROM target t
         WHERE c.id = t.id
           AND (c.active_turn_id IS NULL OR c.active_turn_expires_at < now())
           AND NOT EXISTS (SELECT 1 FROM existing)
         RETURNING c.next_seq - 2 AS "userSeq", c.system_prompt AS "systemPrompt", c.model, c.temperature,
           c.top_p AS "topP", c.max_tokens AS "maxTokens", c.seed, t.active_turn_id AS "previousTurnId"
       )
       SELECT EXISTS (SELECT 1 FROM target) AS found,
              (SELECT active_turn_id FROM target) AS active_turn_id,
              (SELECT row_to_json(claimed) FROM claimed) AS claim,
              (SELECT id FROM existing) AS replay_id,
              (SELECT request_hash FROM existing) AS replay_hash`,
      [conversationId, ownerId, idempotencyKey, turnId, ttlMs],
    );
    const row = rows[0];
    if (!row?.found) return { kind: 'not_found' };
    if (row.replay_id)
      return { kind: 'replay', userMessageId: row.replay_id, requestHash: row.replay_hash };
    if (!row.claim) return { kind: 'busy', activeTurnId: row.active_turn_id };
    return { kind: 'claimed', conversation: row.claim };
  }

  /**
   * Stores the user message and the assistant placeholder, finalises a crashed turn this
   * claim replaced, and reads the newest complete messages that fit the token budget —
   * one statement, so the history read sees the conversation as it was before this turn.
   */
  async begin(input: BeginTurn): Promise<{ userMessage: Message; history: HistoryMessage[] }> {
    const rows = await this.rows<{ user_message: RawMessage; history: HistoryMessage[] }>(
      'turn_begin',
      `WITH orphan AS (
         UPDATE messages SET status = 'failed', error_code = 'turn_interrupted',
           error_message = 'The process running this turn stopped before it finished', completed_at = now()
         WHERE id = $9::uuid AND status = 'streaming'
         RETURNING id
       ), user_message AS (
         INSERT INTO messages (id, conversation_id, seq, role, content, status, token_count, idempotency_key, request_hash)
         VALUES ($1::uuid, $2::uuid, $3, 'user', $4, 'complete', $5, $7, $8)
         RETURNING ${MESSAGE_COLUMNS}
       ), assistant AS (
         INSERT INTO messages (id, conversation_id, seq, role, content, status, model)
         VALUES ($10::uuid, $2::uuid, $3 + 1, 'assistant', '', 'streaming', $6)
         RETURNING id
       ), recent AS (
         SELECT role, content, token_count, seq FROM messages
         WHERE conversation_id = $2::uuid AND status = 'complete' AND seq < $3
         ORDER BY seq DESC
         LIMIT $11
       ), fitting AS (
         SELECT role, content, token_count, seq,
                sum(token_count + $13) OVER (ORDER BY seq DESC) AS running
         FROM recent
       )
       SELECT (SELECT row_to_json(user_message) FROM user_message) AS user_message,
              coalesce((SELECT json_agg(json_build_object('role', role, 'content', content, 'tokenCount', token_count) ORDER BY seq)
                        FROM fitting WHERE running <= $12), '[]'::json) AS history`,
      [
        input.userMessageId,
        input.conversationId,
        input.userSeq,
        input.content,
        input.tokenCount,
        input.alias,
        input.idempotencyKey,
        input.requestHash,
        input.previousTurnId,
        input.turnId,
        input.historyRows,
        input.historyTokens,
        input.messageOverhead,
      ],
    );
    return { userMessage: toMessage(rows[0].user_message), history: rows[0].history };
  }

  /** Stores how the turn ended and releases the claim if this turn still holds it. */
  async finish(input: FinishTurn): Promise<Message> {
    const rows = await this.rows<{ message: RawMessage }>(
      'turn_finish',
      `WITH done AS (
         UPDATE messages SET status = $3::"MessageStatus", content = $4, reasoning = $5, token_count = $6,
           upstream_model = $7, prompt_tokens = $8, completion_tokens = $9, usage_estimated = $10,
           latency_ms = $11, ttft_ms = $12, finish_reason = $13, error_code = $14, error_message = $15,
           completed_at = now()
         WHERE id = $2::uuid
         RETURNING ${MESSAGE_COLUMNS}
       ), released AS (
         UPDATE conversations SET active_turn_id = NULL, active_turn_expires_at = NULL, last_message_at = now(), updated_at = now()
         WHERE id = $1::uuid AND active_turn_id = $2::uuid
         RETURNING id
       )
       SELECT (SELECT row_to_json(done) FROM done) AS message`,
      [
        input.conversationId,
        input.turnId,
        input.status,
        input.content,
        input.reasoning,
        input.tokenCount,
        input.upstreamModel,
        input.promptTokens,
        input.completionTokens,
        input.usageEstimated,
        input.latencyMs,
        input.ttftMs,
        input.finishReason,
        input.errorCode,
        input.errorMessage,
      ],
    );
    return toMessage(rows[0].message);
  }

  /** Gives the conversation back when a turn ends before anything was stored. */
  async release(conversationId: string, turnId: string): Promise<void> {
    await this.execute(
      'turn_release',
      `UPDATE conversations SET active_turn_id = NULL, active_turn_expires_at = NULL
       WHERE id = $1::uuid AND active_turn_id = $2::uuid`,
      [conversationId, turnId],
    );
  }

  /** Extends a live claim; false when it was lost (expired and taken by another turn). */
  async renew(conversationId: string, turnId: string, ttlMs: number): Promise<boolean> {
    const count = await this.execute(
      'turn_renew',
      `UPDATE conversations SET active_turn_expires_at = now() + $3 * interval '1 millisecond'
       WHERE id = $1::uuid AND active_turn_id = $2::uuid`,
      [conversationId, turnId, ttlMs],
    );
    return count > 0;
  }

  /** The assistant reply stored right after a user message (for idempotent replays). */
  async findTurnByUserMessage(
    userMessageId: string,
  ): Promise<{ userMessage: Message; assistantMessage: Message | null } | null> {
    const user = await this.prisma.message.findUnique({ where: { id: userMessageId } });
    if (!user) return null;
    const assistant = await this.prisma.message.findUnique({
      where: { conversationId_seq: { conversationId: user.conversationId, seq: user.seq + 1 } },
    });
    return { userMessage: user, assistantMessage: assistant };
  }

  /**
   * Finalises turns whose process died: a `streaming` assistant message is always the
   * holder of its conversation's claim, so an expired claim names exactly the turns to
   * fail. Uses the index on active_turn_expires_at; run at start-up and periodically.
   */
  async finalizeAbandoned(): Promise<number> {
    return this.execute(
      'turn_finalize_abandoned',
      `WITH expired AS (
         UPDATE conversations c SET active_turn_id = NULL, active_turn_expires_at = NULL
         FROM (SELECT id, active_turn_id FROM conversations WHERE active_turn_expires_at < now() FOR UPDATE SKIP LOCKED) old
         WHERE c.id = old.id
         RETURNING old.active_turn_id
       )
       UPDATE messages SET status = 'failed', error_code = 'turn_interrupted',
         error_message = 'The process running this turn stopped before it finished', completed_at = now()
       WHERE id IN (SELECT active_turn_id FROM expired) AND status = 'streaming'`,
      [],
    );
  }
}
