import type { NextFunction, Request, Response } from 'express';

import { AppException } from '../errors/app.exception';

/** What body-parser attaches to the errors it raises before any route runs. */
interface BodyParserError {
  type: string;
  status: number;
  limit?: number;
}

function isBodyParserError(error: unknown): error is BodyParserError {
  return (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as BodyParserError).type === 'string' &&
    typeof (error as BodyParserError).status === 'number'
  );
}

export function translateBodyParserError(error: unknown): unknown {
  if (!isBodyParserError(error)) return error;
  switch (error.type) {
    case 'entity.parse.failed':
      return new AppException(
        'invalid_json',
        'The request body is not valid JSON; send a JSON object with Content-Type: application/json',
      );
    case 'entity.too.large':
      return new AppException(
        'payload_too_large',
        `The request body exceeds the limit of ${error.limit} bytes`,
      );
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new AppException('unsupported_media_type', 'Send the body as UTF-8 JSON');
    default:
      return new AppException(
        'invalid_body',
        'The request body could not be read; send UTF-8 JSON',
      );
  }
}

/** Express error middleware placed right after the body parser. */
export function bodyParserErrors(
  error: unknown,
  _req: Request,
  _res: Response,
  next: NextFunction,
): void {
  next(translateBodyParserError(error));
}
