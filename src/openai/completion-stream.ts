import { Logger } from '@nestjs/common';
import type { Response } from 'express';

import { correlationIdOf } from '../common/http/correlation-id.middleware';
import { toOpenAiError } from './openai-error';
import { ChunkMapper } from './openai.mapper';
import type { CompletionRun } from './openai.service';

const logger = new Logger('OpenAiStream');

class ClientGone extends Error {}

/** Resolves when the socket takes more, or is gone. */
function drained(res: Response): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

async function write(res: Response, frame: string): Promise<void> {
  if (res.destroyed || res.writableEnded) throw new ClientGone();
  if (!res.write(frame)) await drained(res);
}

const data = (payload: unknown): string => `data: ${JSON.stringify(payload)}\n\n`;

/**
 * Writes a completion as OpenAI's SSE chunks, each as it arrives. The status goes out with
 * the first event, so a failure before it (provider down, rate limited) is an ordinary error
 * response; one after it is a `data: {"error": …}` frame, which OpenAI's SDKs raise as an
 * APIError. A write waits for the socket to drain, so a slow client slows the upstream read
 * instead of growing memory.
 */
export async function writeCompletionStream(
  res: Response,
  run: CompletionRun,
  includeUsage: boolean,
): Promise<void> {
  const events = run.events[Symbol.asyncIterator]();
  let next = await events.next();
  res.status(200);
  res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
  res.setHeader('Cache-Control', 'no-cache, no-transform');
  res.setHeader('X-Accel-Buffering', 'no');
  res.flushHeaders();
  res.socket?.setNoDelay(true);
  const chunks = new ChunkMapper(run.meta, includeUsage);
  try {
    await write(res, data(chunks.first()));
    for (; !next.done; next = await events.next()) {
      for (const chunk of chunks.of(next.value)) await write(res, data(chunk));
    }
    await write(res, 'data: [DONE]\n\n');
  } catch (error) {
    if (error instanceof ClientGone || res.destroyed) return;
    const correlationId = correlationIdOf(res.req);
    const { body } = toOpenAiError(error, correlationId);
    logger.warn({ code: body.error.code, correlationId }, 'stream failed mid-way');
    await write(res, data(body)).catch(() => undefined);
  } finally {
    // Ends the generator (and with it the upstream read) if we stopped before it did.
    await events.return?.(undefined);
    res.end();
  }
}
