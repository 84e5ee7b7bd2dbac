/**
 * Layer 1 of the layers scenario: the floor's work (floor-work.ts, floor-reads.ts) behind
 * bare Express, as @nestjs/platform-express runs it: one app, express.json for bodies, one
 * route per request kind, the service's Express settings (no ETag, no X-Powered-By). What
 * it costs over the floor is Express's own per-request work.
 *
 * Env: as floor-server.ts.
 */
import http from 'node:http';

import express, { NextFunction, Request, Response } from 'express';

import { getConversation } from '../floor-reads';
import { health, HttpError, messageOf, pool, sendError, serve, wholeTurn } from '../floor-work';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function conversationId(req: Request<{ id: string }>): string {
  if (!UUID.test(req.params.id)) throw new HttpError(400, 'validation_failed');
  return req.params.id;
}

const app = express();
app.disable('x-powered-by');
app.set('etag', false);
app.use(express.json({ limit: '1mb' }));
app.get('/health', (_req, res) => {
  res.json(health());
});
app.get('/api/v1/conversations/:id', async (req, res) => {
  const { status, body } = await getConversation(pool, conversationId(req));
  res.status(status).json(body);
});
app.post('/api/v1/conversations/:id/messages', async (req, res) => {
  const answer = await wholeTurn(conversationId(req), messageOf(req.body));
  res.status(201).json(answer);
});
app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
  // express.json's own errors (bad JSON, too large) carry their 4xx status.
  const status = (error as { status?: unknown }).status;
  const parsing = typeof status === 'number' && status < 500;
  sendError(res, parsing ? new HttpError(status, 'invalid_body') : error);
});

serve(http.createServer(app), 'layer express');
