import express, { NextFunction, Request, RequestHandler, Response, Router } from 'express';

import { bodyParserErrors } from './body-parser-errors';
import { jsonBodyGuard } from './json-body-guard';
import { requireJsonBody } from './require-json.middleware';

/** body-parser's own test (type-is hasBody): a body comes with a length or a transfer encoding. */
function hasBody(req: Request): boolean {
  return (
    req.headers['transfer-encoding'] !== undefined ||
    !Number.isNaN(Number(req.headers['content-length']))
  );
}

/**
 * A body is JSON (or, on FORM_BODY_PATHS, a form), parsed within `limit` bytes and checked
 * before any route sees it. A request without a body (most of them: every GET) skips the
 * five steps at once; each would only have found there is nothing to do.
 */
export function requestBody(limit: number): RequestHandler {
  const steps = Router();
  steps.use(
    requireJsonBody,
    express.json({ limit }),
    // Only FORM_BODY_PATHS get this far with a form; every other route refused it with 415.
    express.urlencoded({ limit, extended: false }),
    bodyParserErrors,
    jsonBodyGuard,
  );
  return (req: Request, res: Response, next: NextFunction): void => {
    if (hasBody(req)) steps(req, res, next);
    else next();
  };
}
