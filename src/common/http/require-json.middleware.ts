import type { NextFunction, Request, Response } from 'express';

import { AppException } from '../errors/app.exception';

const WITH_BODY = new Set(['POST', 'PUT', 'PATCH']);

/** The one route that also takes a form: the OAuth2 token endpoint, as OAuth2 clients post it. */
export const FORM_BODY_PATHS = new Set(['/api/v1/auth/token']);

/** The uploads: a multipart body, streamed by their route (src/files), never parsed here. */
export const MULTIPART_BODY_PATHS = new Set(['/api/v1/files', '/v1/files']);

/**
 * A body in any other type than JSON is refused with 415 before validation, which would
 * otherwise see no body at all and blame the fields ("message must be a string").
 * Requests without a body pass: several routes take none or an optional one.
 */
export function requireJsonBody(req: Request, _res: Response, next: NextFunction): void {
  const empty = req.headers['content-length'] === '0';
  // req.is(): null without a body, false when the body is of another type.
  if (!WITH_BODY.has(req.method) || empty || req.is('application/json') !== false) return next();
  if (FORM_BODY_PATHS.has(req.path) && req.is('application/x-www-form-urlencoded')) return next();
  if (MULTIPART_BODY_PATHS.has(req.path) && req.is('multipart/form-data')) return next();
  const type = req.headers['content-type'] ?? 'none';
  next(
    new AppException(
      'unsupported_media_type',
      `The body must be JSON sent with Content-Type: application/json (got ${type})`,
    ),
  );
}
