import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';

import { renderError } from '../common/errors/all-exceptions.filter';
import { correlationIdOf } from '../common/http/correlation-id.middleware';
import type { OpenAiErrorDto } from './dto/chat-completion-response.dto';

export interface RenderedOpenAiError {
  status: number;
  body: OpenAiErrorDto;
  headers?: Record<string, string>;
}

/** OpenAI's error `type` for a status; its SDKs branch on the status, people read the type. */
export function openAiErrorType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 429) return 'rate_limit_error';
  return status >= 500 ? 'server_error' : 'invalid_request_error';
}

/** The request parameter an error code is about, for OpenAI's `param`. */
const PARAM_OF: Record<string, string> = {
  model_not_found: 'model',
  context_length_exceeded: 'messages',
  tools_not_supported: 'tools',
  response_format_not_supported: 'response_format',
};

/**
 * Anything thrown, as OpenAI's `{ error: { message, type, code, param } }` with the status
 * and headers (Retry-After) our catalogue gives its code. `code` is our stable code.
 */
export function toOpenAiError(error: unknown, correlationId: string): RenderedOpenAiError {
  const rendered = renderError(error) ?? {
    status: 500,
    body: {
      statusCode: 500,
      error: 'internal_error',
      message: `Something went wrong on our side; report correlation id ${correlationId}`,
    },
  };
  const { status, body, headers } = rendered;
  const param = PARAM_OF[body.error] ?? body.details?.[0]?.field ?? null;
  return {
    status,
    headers,
    body: {
      error: { message: body.message, type: openAiErrorType(status), code: body.error, param },
    },
  };
}

const logger = new Logger('OpenAiErrors');

/** Sends the OpenAI-shaped error, unless a stream has begun (then all that is left is to end it). */
export function sendOpenAiError(error: unknown, req: Request, res: Response): void {
  const correlationId = correlationIdOf(req);
  const { status, body, headers } = toOpenAiError(error, correlationId);
  if (status >= 500) logger.error({ err: error, correlationId, req }, 'request failed');
  if (res.headersSent) {
    res.end();
    return;
  }
  for (const [name, value] of Object.entries(headers ?? {})) res.setHeader(name, value);
  res.status(status).json(body);
}

/** The door's exception filter: OpenAI clients read errors in OpenAI's shape. */
@Catch()
export class OpenAiExceptionFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    sendOpenAiError(exception, http.getRequest<Request>(), http.getResponse<Response>());
  }
}

/** Express error middleware for /v1: body-parser failures, before any route runs. */
export function openAiMiddlewareErrors(
  error: unknown,
  req: Request,
  res: Response,
  _next: NextFunction,
): void {
  sendOpenAiError(error, req, res);
}
