import { randomUUID } from 'node:crypto';

import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';

const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The client's X-Correlation-ID when it is safe to echo, else a fresh one. */
export function correlationIdFrom(header: string | string[] | undefined): string {
  const given = Array.isArray(header) ? header[0] : header;
  return given !== undefined && SAFE_ID.test(given) ? given : randomUUID();
}

/**
 * First middleware of all, so even a body the parser rejects gets an id. It is also sent
 * as X-Request-Id, the header OpenAI clients read (the openai SDK's `requestID`).
 */
export function correlationId(req: Request, res: Response, next: NextFunction): void {
  req.id = correlationIdFrom(req.headers['x-correlation-id']);
  res.setHeader('X-Correlation-ID', req.id);
  res.setHeader('X-Request-Id', req.id);
  next();
}

/** The request's correlation id, as `correlationId` set it ('' before it ran). */
export function correlationIdOf(req: Request): string {
  return typeof req.id === 'string' ? req.id : '';
}

/** The request's correlation id, for work that logs on its own. */
export const CorrelationId = createParamDecorator((_: unknown, context: ExecutionContext): string =>
  correlationIdOf(context.switchToHttp().getRequest<Request>()),
);
