/**
 * The floor's work (see floor-server.ts), shared with the layer servers (bench/layers/), which
 * do the same work behind Express, Nest and the openai SDK: the pool, the turn's SQL and
 * steps, the upstream call over node:http, the process row the claims depend on.
 *
 * Env: PORT, DATABASE_URL, UPSTREAM_BASE_URL (…/v1), UPSTREAM_MODEL, DB_POOL_SIZE.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';

import { Pool } from 'pg';

import { preciseTypes } from '../src/database/precise-timestamps';

const PORT = Number(process.env.PORT ?? 3100);
/** The upstream's base URL, …/v1, as an SDK takes it. */
export const UPSTREAM_BASE_URL = process.env.UPSTREAM_BASE_URL ?? 'http://127.0.0.1:1234/v1';
const COMPLETIONS_URL = new URL('chat/completions', `${UPSTREAM_BASE_URL}/`);
export const MODEL = process.env.UPSTREAM_MODEL ?? 'fake-model';

/** The service's defaults for lmstudio/default, so both send the upstream the same prompt. */
const DEFAULT_SYSTEM_PROMPT =
  'You are a helpful assistant. Answer accurately and concisely, and say so when you do not know.';
const CONTEXT_WINDOW = 8192;
export const REPLY_TOKENS = 1024;
const REPLY_PRIMING_TOKENS = 3;
const MESSAGE_OVERHEAD_TOKENS = 4;
const HISTORY_MAX_ROWS = 1000;
/** Claims are held while their process beats, as in the service (its PROCESS_DEAD_AFTER_MS). */
const DEAD_AFTER_MS = 4000;
const PROCESS_ID = randomUUID();
const BODY_LIMIT = 1024 * 1024;

export const pool = new Pool({
  connectionString: process.env.DATABASE_URL,
  // Times read to the microsecond, as the service reads and writes them.
  types: preciseTypes,
  max: Number(process.env.DB_POOL_SIZE ?? 20),
});
// A timeout, as the service's provider agents have: without one Node 20 ignores the
// upstream's `Keep-Alive: timeout=N` and may reuse a socket as the upstream closes it.
const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity, timeout: 4_000 });

/** A cheap, conservative token estimate (the floor needs no tokenizer). */
const estimateTokens = (text: string): number => Math.ceil(text.length / 3);

/** Time-ordered UUID (v7), like the service's ids, so inserts land at the index's end. */
function uuidv7(): string {
  const bytes = randomBytes(16);
  bytes.writeUIntBE(Date.now(), 0, 6);
  bytes[6] = (bytes[6] & 0x0f) | 0x70;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const CLAIM_SQL = `
UPDATE conversations
SET active_turn_id = $2, active_process_id = $3,
    next_seq = next_seq + 2, last_message_at = now(), updated_at = now()
WHERE id = $1 AND (active_turn_id IS NULL OR NOT EXISTS (
  SELECT 1 FROM processes p WHERE p.id = active_process_id
    AND p.heartbeat_at > now() - ${DEAD_AFTER_MS} * interval '1 millisecond'))
RETURNING next_seq - 2 AS seq, system_prompt`;

const BEGIN_SQL = `
WITH user_message AS (
  INSERT INTO messages (id, conversation_id, seq, role, content, status, token_count)
  VALUES ($1, $2, $3, 'user', $4, 'complete', $5)
), recent AS (
  SELECT role, content, token_count, seq FROM messages
  WHERE conversation_id = $2 AND status = 'complete' AND seq < $3
  ORDER BY seq DESC LIMIT $6
), fitting AS (
  SELECT role, content, seq, sum(token_count + ${MESSAGE_OVERHEAD_TOKENS}) OVER (ORDER BY seq DESC) AS running
  FROM recent
)
SELECT role, content FROM fitting WHERE running <= $7 ORDER BY seq`;

const FINISH_SQL = `
WITH reply AS (
  INSERT INTO messages (id, conversation_id, seq, role, content, status, token_count, model,
    upstream_model, prompt_tokens, completion_tokens, latency_ms, ttft_ms, finish_reason, completed_at)
  VALUES ($1, $2, $3, 'assistant', $4, $5, $6, 'floor', $7, $8, $9, $10, $11, $12, now())
  RETURNING created_at
), released AS (
  UPDATE conversations
  SET active_turn_id = NULL, active_process_id = NULL, last_message_at = now(), updated_at = now()
  WHERE id = $2 AND active_turn_id = $1
)
SELECT created_at FROM reply`;

const RELEASE_SQL = `
UPDATE conversations SET active_turn_id = NULL, active_process_id = NULL
WHERE id = $1 AND active_turn_id = $2`;

export interface ChatMessage {
  role: string;
  content: string;
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
}

export interface UpstreamResult {
  content: string;
  model: string | null;
  finishReason: string | null;
  usage: Usage | null;
}

interface CompletionJson {
  model?: string;
  choices?: { message?: { content?: string | null }; finish_reason?: string | null }[];
  usage?: Usage | null;
}

interface ChunkJson {
  model?: string;
  choices?: { delta?: { content?: string | null }; finish_reason?: string | null }[];
  usage?: Usage | null;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
  ) {
    super(code);
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (part: Buffer) => {
      size += part.length;
      if (size > BODY_LIMIT) reject(new HttpError(413, 'payload_too_large'));
      else parts.push(part);
    });
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

/** POSTs a chat request upstream; `onResponse` reads the response. */
function postUpstream<T>(
  body: object,
  onResponse: (
    res: IncomingMessage,
    resolve: (value: T) => void,
    reject: (e: Error) => void,
  ) => void,
): Promise<T> {
  const payload = JSON.stringify(body);
  return new Promise<T>((resolve, reject) => {
    const req = http.request(COMPLETIONS_URL, {
      method: 'POST',
      agent,
      headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new HttpError(502, `provider_error_${res.statusCode}`));
        return;
      }
      res.setEncoding('utf8');
      res.on('error', reject);
      onResponse(res, resolve, reject);
    });
    req.end(payload);
  });
}

export function completeUpstream(messages: ChatMessage[]): Promise<UpstreamResult> {
  return postUpstream<UpstreamResult>(
    { model: MODEL, messages, max_tokens: REPLY_TOKENS },
    (res, resolve, reject) => {
      let text = '';
      res.on('data', (part: string) => (text += part));
      res.on('end', () => {
        try {
          const json = JSON.parse(text) as CompletionJson;
          const choice = json.choices?.[0];
          resolve({
            content: choice?.message?.content ?? '',
            model: json.model ?? null,
            finishReason: choice?.finish_reason ?? null,
            usage: json.usage ?? null,
          });
        } catch (error) {
          reject(error as Error);
        }
      });
    },
  );
}

/** Streams from upstream; `onDelta` gets each content chunk as soon as it is parsed. */
export function streamUpstream(
  messages: ChatMessage[],
  onDelta: (text: string) => void,
): Promise<UpstreamResult> {
  return postUpstream<UpstreamResult>(
    {
      model: MODEL,
      messages,
      max_tokens: REPLY_TOKENS,
      stream: true,
      stream_options: { include_usage: true },
    },
    (res, resolve, reject) => {
      const result: UpstreamResult = { content: '', model: null, finishReason: null, usage: null };
      let buffer = '';
      let done = false;
      res.on('data', (part: string) => {
        buffer += part;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          for (const line of block.split('\n')) {
            if (!line.startsWith('data:')) continue;
            const data = line.slice(5).trim();
            if (data === '[DONE]') {
              done = true;
              continue;
            }
            let chunk: ChunkJson;
            try {
              chunk = JSON.parse(data) as ChunkJson;
            } catch (error) {
              reject(error as Error);
              res.destroy();
              return;
            }
            result.model = chunk.model ?? result.model;
            result.usage = chunk.usage ?? result.usage;
            const choice = chunk.choices?.[0];
            if (choice?.finish_reason) result.finishReason = choice.finish_reason;
            const text = choice?.delta?.content;
            if (text) {
              result.content += text;
              onDelta(text);
            }
          }
        }
      });
      res.on('end', () => (done ? resolve(result) : reject(new Error('upstream stream cut'))));
      res.on('close', () => {
        if (!done) reject(new Error('upstream stream closed'));
      });
    },
  );
}

interface Turn {
  conversationId: string;
  turnId: string;
  userId: string;
  seq: number;
  message: string;
  prompt: ChatMessage[];
  started: number;
}

/** Claims the conversation, stores the user message and reads the history: two statements. */
async function beginTurn(conversationId: string, message: string): Promise<Turn> {
  const started = performance.now();
  const turnId = uuidv7();
  const claim = await pool.query<{ seq: number; system_prompt: string | null }>(CLAIM_SQL, [
    conversationId,
    turnId,
    PROCESS_ID,
  ]);
  if (claim.rowCount === 0) {
    const exists = await pool.query('SELECT 1 FROM conversations WHERE id = $1', [conversationId]);
    throw exists.rowCount === 0
      ? new HttpError(404, 'conversation_not_found')
      : new HttpError(409, 'conversation_busy');
  }
  const { seq, system_prompt: systemPrompt } = claim.rows[0];
  const system = systemPrompt ?? DEFAULT_SYSTEM_PROMPT;
  const messageTokens = estimateTokens(message);
  const historyBudget =
    CONTEXT_WINDOW -
    REPLY_TOKENS -
    REPLY_PRIMING_TOKENS -
    (estimateTokens(system) + MESSAGE_OVERHEAD_TOKENS) -
    (messageTokens + MESSAGE_OVERHEAD_TOKENS);
  const userId = uuidv7();
  try {
    const history = await pool.query<ChatMessage>(BEGIN_SQL, [
      userId,
      conversationId,
      seq,
      message,
      messageTokens,
      HISTORY_MAX_ROWS,
      historyBudget,
    ]);
    const prompt = [
      { role: 'system', content: system },
      ...history.rows,
      { role: 'user', content: message },
    ];
    return { conversationId, turnId, userId, seq, message, prompt, started };
  } catch (error) {
    await pool.query(RELEASE_SQL, [conversationId, turnId]);
    throw error;
  }
}

/** Stores the reply (however the generation ended) and releases the claim: one statement. */
async function finishTurn(
  turn: Turn,
  result: UpstreamResult,
  status: 'complete' | 'failed',
  ttftMs: number | null,
): Promise<{ createdAt: Date; latencyMs: number }> {
  const latencyMs = Math.round(performance.now() - turn.started);
  const stored = await pool.query<{ created_at: Date }>(FINISH_SQL, [
    turn.turnId,
    turn.conversationId,
    turn.seq + 1,
    result.content,
    status,
    estimateTokens(result.content),
    result.model,
    result.usage?.prompt_tokens ?? null,
    result.usage?.completion_tokens ?? null,
    latencyMs,
    ttftMs === null ? null : Math.round(ttftMs),
    result.finishReason,
  ]);
  return { createdAt: stored.rows[0].created_at, latencyMs };
}

/** How a turn calls the upstream for a whole reply: raw http here, an SDK in a layer server. */
export type Complete = (messages: ChatMessage[]) => Promise<UpstreamResult>;

/** A whole-reply turn: begin, call the upstream, finish; returns the 201 answer's body. */
export async function wholeTurn(
  conversationId: string,
  message: string,
  complete: Complete = completeUpstream,
): Promise<object> {
  const turn = await beginTurn(conversationId, message);
  let result: UpstreamResult;
  try {
    result = await complete(turn.prompt);
  } catch (error) {
    await finishTurn(
      turn,
      { content: '', model: null, finishReason: null, usage: null },
      'failed',
      null,
    );
    throw error;
  }
  const stored = await finishTurn(turn, result, 'complete', null);
  return {
    response: result.content,
    model: 'floor',
    userMessage: { id: turn.userId, seq: turn.seq, role: 'user', content: message },
    assistantMessage: {
      id: turn.turnId,
      seq: turn.seq + 1,
      role: 'assistant',
      content: result.content,
      status: 'complete',
      createdAt: stored.createdAt,
    },
    usage: result.usage,
    latencyMs: stored.latencyMs,
  };
}

/** How a turn streams from the upstream: raw http here, an SDK in a layer server. */
export type Stream = (
  messages: ChatMessage[],
  onDelta: (text: string) => void,
) => Promise<UpstreamResult>;

/** A streamed turn: begin, stream the upstream's chunks as SSE deltas, finish. */
export async function streamedReply(
  res: ServerResponse,
  conversationId: string,
  message: string,
  stream: Stream = streamUpstream,
): Promise<void> {
  const turn = await beginTurn(conversationId, message);
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no',
  });
  res.socket?.setNoDelay(true);
  let eventId = 0;
  // A disconnect is not a cancel: the turn runs on and is stored; only the writes stop.
  const send = (event: string, data: unknown): void => {
    if (!res.destroyed)
      res.write(`id: ${++eventId}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  send('message.created', {
    userMessage: { id: turn.userId, seq: turn.seq, role: 'user', content: message },
    assistantMessageId: turn.turnId,
  });
  let ttftMs: number | null = null;
  let partial = '';
  let result: UpstreamResult;
  try {
    result = await stream(turn.prompt, (delta) => {
      ttftMs ??= performance.now() - turn.started;
      partial += delta;
      send('message.delta', { delta });
    });
  } catch {
    await finishTurn(
      turn,
      { content: partial, model: null, finishReason: null, usage: null },
      'failed',
      ttftMs,
    );
    send('error', { code: 'provider_error', message: 'The upstream failed mid-reply' });
    res.end();
    return;
  }
  await finishTurn(turn, result, 'complete', ttftMs);
  send('message.completed', {
    assistantMessage: {
      id: turn.turnId,
      seq: turn.seq + 1,
      content: result.content,
      status: 'complete',
    },
    usage: result.usage,
  });
  res.end();
}

/** The floor's check of a turn's body: `message`, a non-blank string of at most 100,000. */
export function messageOf(body: unknown): string {
  const message = (body as { message?: unknown } | null)?.message;
  if (typeof message !== 'string' || message.trim() === '' || message.length > 100_000)
    throw new HttpError(400, 'validation_failed');
  return message;
}

/** GET /health's body. */
export function health(): object {
  const { rss, heapUsed } = process.memoryUsage();
  return { status: 'ok', rss, heapUsed };
}

/** An error as the floor answers it: its status and code, or a logged 500. */
export function sendError(res: ServerResponse, error: unknown): void {
  if (res.headersSent) {
    if (!res.writableEnded) res.destroy();
    return;
  }
  const status = error instanceof HttpError ? error.status : 500;
  const code = error instanceof HttpError ? error.code : 'internal_error';
  if (status === 500) process.stderr.write(`floor: ${String(error)}\n`);
  sendJson(res, status, { statusCode: status, error: code });
}

/**
 * Registers the process (claims are held while it beats), then listens on PORT; a signal
 * closes the server, the upstream agent and the pool.
 */
export function serve(server: http.Server, name: string): void {
  // Registered once, like the service's process row (its heartbeat runs on its own connection).
  void pool
    .query(`INSERT INTO processes (id, host, pid) VALUES ($1, 'floor', $2)`, [
      PROCESS_ID,
      process.pid,
    ])
    .then(() =>
      server.listen(PORT, '127.0.0.1', () =>
        process.stdout.write(`${name} listening on ${PORT}\n`),
      ),
    );
  setInterval(
    () => void pool.query('UPDATE processes SET heartbeat_at = now() WHERE id = $1', [PROCESS_ID]),
    1000,
  ).unref();
  const stop = (): void => {
    server.close();
    server.closeAllConnections();
    agent.destroy();
    void pool.end().finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
