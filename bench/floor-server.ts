/**
 * THE FLOOR: the least a server can do for one durable chat turn, with nothing but
 * node:http and pg. The benchmark judges the service as ratios to it, measured in the same
 * run on the same machine.
 *
 * Per turn, against the service's own schema (tables `conversations` and `messages`), with
 * PostgreSQL's default durability (fsync, synchronous_commit on), one statement each:
 *   1. claim:  UPDATE conversations … WHERE active_turn_id IS NULL (or expired) … RETURNING
 *   2. begin:  INSERT the user message, and read the history: the newest complete messages
 *              (at most 1000 rows, like the service) that fit the context window
 *   3. call the upstream POST /v1/chat/completions over a keep-alive agent
 *      (streams: `stream: true`, each content chunk forwarded at once as `message.delta`)
 *   4. finish: INSERT the reply and release the claim
 * Routes as the service: POST /api/v1/conversations/:id/messages and …/messages/stream.
 * No batching across turns, no caching, no write skipped. The work itself is in
 * floor-work.ts (shared with the layer servers of bench/layers/); this file routes to it.
 *
 * Reads (floor-reads.ts): GET /api/v1/conversations, …/:id and …/:id/messages, one
 * statement each, the same rows and JSON as the service's.
 *
 * Env: PORT, DATABASE_URL, UPSTREAM_BASE_URL (…/v1), UPSTREAM_MODEL, DB_POOL_SIZE.
 */
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';

import { answerRead } from './floor-reads';
import {
  health,
  HttpError,
  messageOf,
  pool,
  readBody,
  sendError,
  sendJson,
  serve,
  streamedReply,
  wholeTurn,
} from './floor-work';

const ROUTE =
  /^\/api\/v1\/conversations\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\/messages(\/stream)?$/i;

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const [path, search] = (req.url ?? '/').split('?', 2);
  if (req.method === 'GET' && path === '/health') return sendJson(res, 200, health());
  const read = req.method === 'GET' ? answerRead(pool, path, new URLSearchParams(search)) : null;
  if (read) {
    const { status, body } = await read;
    return sendJson(res, status, body);
  }
  const match = ROUTE.exec(path);
  if (req.method !== 'POST' || !match) throw new HttpError(404, 'not_found');
  let body: unknown;
  try {
    body = JSON.parse(await readBody(req));
  } catch (error) {
    throw error instanceof HttpError ? error : new HttpError(400, 'invalid_json');
  }
  const message = messageOf(body);
  if (match[2]) await streamedReply(res, match[1], message);
  else sendJson(res, 201, await wholeTurn(match[1], message));
}

serve(
  http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => sendError(res, error));
  }),
  'floor',
);
