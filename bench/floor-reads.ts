/**
 * The floor's read path (see floor-server.ts): the service's three hot reads with nothing
 * but pg, owner-scoped like the service (the floor has no authentication, so every request
 * is the owner `local`, as the service's AUTH_MODE=none makes it). Same rows, same JSON
 * (fields, order, cursors), so a client could not tell the two apart:
 *   GET /api/v1/conversations?limit=&cursor=      newest activity first, keyset pagination
 *   GET /api/v1/conversations/:id
 *   GET /api/v1/conversations/:id/messages?limit=&cursor=   the current path (root → leaf),
 *                                                          oldest first, keyset on seq
 * One statement per read; a page of messages reads the owner check and the rows together,
 * and only an empty page asks again whether the conversation exists.
 */
import type { Pool } from 'pg';

const OWNER = 'local';
const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 100;
const MAX_CURSOR_CHARS = 500;
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const ONE = new RegExp(`^/api/v1/conversations/(${UUID})(/messages)?$`, 'i');
const AN_ID = new RegExp(`^${UUID}$`, 'i');
const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** A read's status and JSON body. */
export interface ReadAnswer {
  status: number;
  body: unknown;
}

const CONVERSATION_COLUMNS = `id, title, title_source, topics, archived, pinned, system_prompt,
  model, temperature, top_p, max_tokens, seed, created_at, updated_at, last_message_at,
  current_leaf_id`;

// A list row's sidebar fields, as the service reads them: every message counted, and the
// newest message with text on the current path (the leaf, or its parent), by key.
const LIST_ROW = `SELECT ${CONVERSATION_COLUMNS},
  (SELECT count(*)::int FROM messages n WHERE n.conversation_id = c.id) AS message_count,
  lm.last_role, lm.last_preview, lm.last_created_at
FROM conversations c LEFT JOIN LATERAL (
  SELECT m.role AS last_role, substr(m.content, 1, 200) AS last_preview,
    m.created_at AS last_created_at
  FROM messages leaf JOIN messages m ON m.id IN (leaf.id, leaf.parent_id)
  WHERE leaf.id = c.current_leaf_id ORDER BY m.content <> '' DESC, m.seq DESC LIMIT 1
) lm ON true`;

const LIST_SQL = `${LIST_ROW}
WHERE owner_id = $1 AND NOT archived
ORDER BY pinned DESC, last_message_at DESC, id DESC LIMIT $2`;

const LIST_AFTER_SQL = `${LIST_ROW}
WHERE owner_id = $1 AND NOT archived
  AND (pinned, last_message_at, id) < ($5::boolean, $3::timestamptz, $4::uuid)
ORDER BY pinned DESC, last_message_at DESC, id DESC LIMIT $2`;

const GET_SQL = `SELECT ${CONVERSATION_COLUMNS} FROM conversations WHERE id = $1 AND owner_id = $2`;

// The path from the current leaf up to the cursor, then the page's siblings.
const MESSAGES_SQL = `
WITH RECURSIVE c AS (SELECT current_leaf_id FROM conversations WHERE id = $1 AND owner_id = $2),
path AS (
  SELECT m.id, m.parent_id FROM c JOIN messages m ON m.id = c.current_leaf_id
  WHERE m.conversation_id = $1 AND m.seq > $3
  UNION ALL
  SELECT m.id, m.parent_id FROM path p JOIN messages m ON m.id = p.parent_id
  WHERE m.conversation_id = $1 AND m.seq > $3
), page AS (
  SELECT m.id, m.conversation_id, m.parent_id, m.seq, m.role, m.content, m.reasoning, m.status,
    m.model, m.upstream_model, m.prompt_tokens, m.completion_tokens, m.usage_estimated,
    m.latency_ms, m.ttft_ms, m.finish_reason, m.error_code, m.error_message, m.created_at,
    m.completed_at, m.context, m.feedback_rating, m.feedback_comment, m.feedback_at
  FROM path JOIN messages m ON m.id = path.id ORDER BY m.seq LIMIT $4
)
SELECT page.*, (SELECT current_leaf_id FROM c) AS leaf_id,
  (SELECT array_agg(s.id::text ORDER BY s.seq) FROM messages s WHERE s.conversation_id = $1
     AND (s.parent_id = page.parent_id OR (s.parent_id IS NULL AND page.parent_id IS NULL))
  ) AS sibling_ids
FROM page ORDER BY page.seq`;

const EXISTS_SQL = 'SELECT current_leaf_id FROM conversations WHERE id = $1 AND owner_id = $2';

interface ConversationRow {
  id: string;
  title: string | null;
  title_source: string | null;
  topics: string[];
  archived: boolean;
  pinned: boolean;
  system_prompt: string | null;
  model: string | null;
  temperature: number | null;
  top_p: number | null;
  max_tokens: number | null;
  seed: number | null;
  created_at: Date;
  updated_at: Date;
  last_message_at: Date;
  current_leaf_id: string | null;
}

interface ListRow extends ConversationRow {
  message_count: number;
  last_role: string | null;
  last_preview: string | null;
  last_created_at: Date | null;
}

interface MessageRow {
  id: string;
  conversation_id: string;
  parent_id: string | null;
  leaf_id: string | null;
  sibling_ids: string[];
  seq: number;
  role: string;
  content: string;
  reasoning: string | null;
  status: string;
  model: string | null;
  upstream_model: string | null;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  usage_estimated: boolean;
  latency_ms: number | null;
  ttft_ms: number | null;
  finish_reason: string | null;
  error_code: string | null;
  error_message: string | null;
  created_at: Date;
  completed_at: Date | null;
  context: ContextManifest | null;
  feedback_rating: string | null;
  feedback_comment: string | null;
  feedback_at: Date | null;
}

/** The fields of a stored context manifest that its short form shows. */
interface ContextManifest {
  history: { messages: number; omitted: number };
  summary: { summarizedMessages: number } | null;
  promptTokens: number;
}

const fail = (status: number, error: string): ReadAnswer => ({
  status,
  body: { statusCode: status, error },
});

function toConversation(row: ConversationRow): object {
  const params: Record<string, number> = {};
  if (row.temperature !== null) params.temperature = row.temperature;
  if (row.top_p !== null) params.topP = row.top_p;
  if (row.max_tokens !== null) params.maxTokens = row.max_tokens;
  if (row.seed !== null) params.seed = row.seed;
  return {
    id: row.id,
    title: row.title,
    titleSource: row.title_source,
    topics: row.topics,
    archived: row.archived,
    pinned: row.pinned,
    systemPrompt: row.system_prompt,
    model: row.model,
    params,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    lastMessageAt: row.last_message_at.toISOString(),
    currentLeafId: row.current_leaf_id,
  };
}

function toListItem(row: ListRow): object {
  return {
    ...toConversation(row),
    messageCount: row.message_count,
    lastMessage:
      row.last_role === null
        ? null
        : {
            role: row.last_role,
            preview: row.last_preview,
            createdAt: row.last_created_at!.toISOString(),
          },
  };
}

function toMessage(row: MessageRow): object {
  const hasUsage = row.prompt_tokens !== null || row.completion_tokens !== null;
  return {
    id: row.id,
    conversationId: row.conversation_id,
    parentId: row.parent_id,
    seq: row.seq,
    role: row.role,
    content: row.content,
    reasoning: row.reasoning,
    status: row.status,
    model: row.model,
    upstreamModel: row.upstream_model,
    usage: hasUsage
      ? {
          promptTokens: row.prompt_tokens,
          completionTokens: row.completion_tokens,
          totalTokens: (row.prompt_tokens ?? 0) + (row.completion_tokens ?? 0),
          estimated: row.usage_estimated,
        }
      : null,
    latencyMs: row.latency_ms,
    ttftMs: row.ttft_ms,
    finishReason: row.finish_reason,
    error: row.error_code ? { code: row.error_code, message: row.error_message } : null,
    context: row.context && {
      messages: row.context.history.messages + 1,
      omitted: row.context.history.omitted,
      summarized: row.context.summary?.summarizedMessages ?? 0,
      promptTokens: row.context.promptTokens,
    },
    createdAt: row.created_at.toISOString(),
    completedAt: row.completed_at?.toISOString() ?? null,
    feedback:
      row.feedback_rating && row.feedback_at
        ? {
            rating: row.feedback_rating,
            comment: row.feedback_comment,
            updatedAt: row.feedback_at.toISOString(),
          }
        : null,
    siblingCount: row.sibling_ids.length,
    siblingIndex: row.sibling_ids.indexOf(row.id) + 1,
    siblingIds: row.sibling_ids,
  };
}

const encodeCursor = (cursor: object): string =>
  Buffer.from(JSON.stringify(cursor)).toString('base64url');

/** The cursor's fields, or null when it is not one this server issued. */
function decodeCursor(raw: string): Record<string, unknown> | null {
  if (raw.length > MAX_CURSOR_CHARS) return null;
  try {
    const value: unknown = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

/** `limit` as the service's PageQueryDto reads it, or null when out of range. */
function pageSize(query: URLSearchParams): number | null {
  const raw = query.get('limit');
  if (raw === null) return DEFAULT_LIMIT;
  const limit = Number(raw);
  return Number.isInteger(limit) && limit >= 1 && limit <= MAX_LIMIT ? limit : null;
}

async function listConversations(pool: Pool, query: URLSearchParams): Promise<ReadAnswer> {
  const limit = pageSize(query);
  if (limit === null) return fail(400, 'validation_failed');
  const raw = query.get('cursor');
  let rows: ListRow[];
  if (raw === null) {
    rows = (await pool.query<ListRow>(LIST_SQL, [OWNER, limit + 1])).rows;
  } else {
    const cursor = decodeCursor(raw);
    const { kind, pinned, lastMessageAt, id } = cursor ?? {};
    if (
      kind !== 'conversations' ||
      typeof pinned !== 'boolean' ||
      typeof lastMessageAt !== 'string' ||
      !ISO_MS.test(lastMessageAt) ||
      typeof id !== 'string' ||
      !AN_ID.test(id)
    )
      return fail(400, 'invalid_cursor');
    const params = [OWNER, limit + 1, lastMessageAt, id, pinned];
    rows = (await pool.query<ListRow>(LIST_AFTER_SQL, params)).rows;
  }
  const data = rows.slice(0, limit);
  const last = data.at(-1);
  const nextCursor =
    rows.length > limit && last
      ? encodeCursor({
          kind: 'conversations',
          pinned: last.pinned,
          lastMessageAt: last.last_message_at.toISOString(),
          id: last.id,
        })
      : null;
  return { status: 200, body: { data: data.map(toListItem), nextCursor } };
}

export async function getConversation(pool: Pool, id: string): Promise<ReadAnswer> {
  const rows = (await pool.query<ConversationRow>(GET_SQL, [id, OWNER])).rows;
  return rows.length
    ? { status: 200, body: toConversation(rows[0]) }
    : fail(404, 'conversation_not_found');
}

async function listMessages(pool: Pool, id: string, query: URLSearchParams): Promise<ReadAnswer> {
  const limit = pageSize(query);
  if (limit === null) return fail(400, 'validation_failed');
  const raw = query.get('cursor');
  let afterSeq = -1;
  if (raw !== null) {
    const cursor = decodeCursor(raw);
    const seq = cursor?.seq;
    if (
      cursor?.kind !== 'messages' ||
      cursor.conversationId !== id ||
      typeof seq !== 'number' ||
      !Number.isInteger(seq) ||
      seq < -1
    )
      return fail(400, 'invalid_cursor');
    afterSeq = seq;
  }
  const rows = (await pool.query<MessageRow>(MESSAGES_SQL, [id, OWNER, afterSeq, limit + 1])).rows;
  let leafId = rows[0]?.leaf_id;
  if (rows.length === 0) {
    const found = (await pool.query<{ current_leaf_id: string | null }>(EXISTS_SQL, [id, OWNER]))
      .rows;
    if (found.length === 0) return fail(404, 'conversation_not_found');
    leafId = found[0].current_leaf_id;
  }
  const data = rows.slice(0, limit);
  const last = data.at(-1);
  const nextCursor =
    rows.length > limit && last
      ? encodeCursor({ kind: 'messages', conversationId: id, seq: last.seq })
      : null;
  return { status: 200, body: { data: data.map(toMessage), nextCursor, leafId } };
}

/** Answers a GET on one of the read routes; null when `path` is none of them. */
export function answerRead(
  pool: Pool,
  path: string,
  query: URLSearchParams,
): Promise<ReadAnswer> | null {
  if (path === '/api/v1/conversations') return listConversations(pool, query);
  const match = ONE.exec(path);
  if (!match) return null;
  const id = match[1];
  return match[2] ? listMessages(pool, id, query) : getConversation(pool, id);
}
