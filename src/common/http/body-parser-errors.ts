import type { NextFunction, Request, Response } from 'express';

import { AppException } from '../errors/app.exception';

/** What body-parser attaches to the errors it raises before any route runs. */
interface BodyParserError {
  /** Absent when body-parser passes on a stream's own error, e.g. zlib's on a bad gzip body. */
  type?: string;
  status: number;
  /** Set by http-errors, which body-parser raises every error with, on 4xx. */
  expose?: boolean;
  limit?: number;
  encoding?: string;
  /** The text that failed to parse. */
  body?: unknown;
}

/** Whether body-parser's strict mode refused JSON that parses: `null`, `42`, `"text"`. */
function isJsonButNoObject(text: unknown): boolean {
  if (typeof text !== 'string') return false;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function isBodyParserError(error: unknown): error is BodyParserError {
  if (typeof error !== 'object' || error === null) return false;
  const { type, status, expose } = error as BodyParserError;
  return typeof status === 'number' && (typeof type === 'string' || expose === true);
}

export function translateBodyParserError(error: unknown): unknown {
  if (!isBodyParserError(error)) return error;
  switch (error.type) {
    case 'entity.parse.failed':
      if (isJsonButNoObject(error.body))
        return new AppException('invalid_body', 'The request body must be a JSON object');
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
      return new AppException(
        'unsupported_media_type',
        `Content-Encoding "${String(error.encoding).slice(0, 40)}" is not supported; send the body uncompressed or as gzip, deflate or br`,
      );
    case 'charset.unsupported':
      return new AppException('unsupported_media_type', 'Send the body as UTF-8 JSON');
    default:
      return new AppException(
        'invalid_body',
        'The request body could not be read (is it compressed as its Content-Encoding says?); send UTF-8 JSON',
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
