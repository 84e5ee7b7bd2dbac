import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';

import { toDatabaseUnavailable } from './database-errors';
import { correlationIdOf } from '../http/correlation-id.middleware';
import { AppException } from './app.exception';
import type { ErrorCode } from './error-codes';
import { ErrorResponseDto } from './error-response.dto';

const CODES_BY_STATUS: Record<number, ErrorCode> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  406: 'not_acceptable',
  408: 'request_timeout',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  422: 'unprocessable_entity',
  429: 'too_many_requests',
  503: 'service_unavailable',
};

export interface RenderedError {
  status: number;
  body: Omit<ErrorResponseDto, 'correlationId'>;
  headers?: Record<string, string>;
}

/** Maps anything thrown to the design's error body. Pure, so it is unit-tested directly. */
export function renderError(error: unknown): RenderedError | undefined {
  const outage = toDatabaseUnavailable(error);
  if (outage) return renderError(outage);
  if (error instanceof AppException) {
    const { details, messageIds } = error.extras;
    const body = { statusCode: error.status, error: error.code, message: error.message };
    return {
      status: error.status,
      body: { ...body, ...(details && { details }), ...messageIds },
      headers: error.headers,
    };
  }
  if (error instanceof HttpException) {
    const status = error.getStatus();
    const response = error.getResponse();
    const raw =
      typeof response === 'string' ? response : (response as { message?: unknown }).message;
    const message = Array.isArray(raw)
      ? raw.join('; ')
      : typeof raw === 'string'
        ? raw
        : error.message;
    return {
      status,
      body: { statusCode: status, error: CODES_BY_STATUS[status] ?? 'http_error', message },
    };
  }
  return undefined;
}

@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Exceptions');

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const request = ctx.getRequest<Request>();
    const response = ctx.getResponse<Response>();
    const correlationId = correlationIdOf(request);

    const rendered = renderError(exception) ?? {
      status: 500,
      body: {
        statusCode: 500,
        error: 'internal_error',
        message: `Something went wrong on our side; report correlation id ${correlationId}`,
      },
    };
    this.log(exception, rendered, correlationId, request);
    if (response.headersSent) {
      // A stream already started: nothing can be sent but the end of it.
      response.end();
      return;
    }
    for (const [name, value] of Object.entries(rendered.headers ?? {}))
      response.setHeader(name, value);
    response.status(rendered.status).json({ ...rendered.body, correlationId });
  }

  /**
   * A 5xx we raised on purpose (draining, a provider down, the database away) is an
   * expected condition: one warning line, no stack. Only what nobody anticipated is an
   * error with its stack. A driver error is never logged whole: it can carry its
   * connection object, secrets included.
   */
  private log(exception: unknown, rendered: RenderedError, correlationId: string, req: Request) {
    if (rendered.status < 500) return;
    const expected =
      exception instanceof AppException || rendered.body.error === 'database_unavailable';
    if (expected)
      this.logger.warn({ correlationId, req, code: rendered.body.error }, rendered.body.message);
    else this.logger.error({ err: exception, correlationId, req }, 'request failed');
  }
}
