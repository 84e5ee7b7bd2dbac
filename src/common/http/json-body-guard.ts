import type { NextFunction, Request, Response } from 'express';

import { AppException, FieldError, ValidationFailedException } from '../errors/app.exception';
import { unstorableTextReason } from '../text/storable-text';

/** Deeper than any DTO of this API; deep enough nesting overflows the stack in validation. */
export const MAX_JSON_DEPTH = 32;

/** Keys that reach object prototypes when a body is copied or transformed into a class. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

const join = (path: string, key: string | number): string => (path ? `${path}.${key}` : `${key}`);

/**
 * Why a parsed JSON body must be refused before any pipe sees it, or undefined if it may
 * pass. An array is refused outright: Nest's ValidationPipe would assign `constructor` on
 * it, which makes V8 drop its array fast paths for the whole process. The walk is
 * iterative and stops at MAX_JSON_DEPTH, so no body can overflow the stack here.
 */
export function checkJsonBody(body: unknown): AppException | undefined {
  if (Array.isArray(body) || typeof body !== 'object' || body === null) {
    return new AppException('invalid_body', 'The request body must be a JSON object');
  }
  const problems: FieldError[] = [];
  // Breadth first, so problems are listed in the order the fields appear.
  const queue: [value: unknown, path: string, depth: number][] = [[body, '', 0]];
  for (let next = 0; next < queue.length; next++) {
    const [value, path, depth] = queue[next];
    if (typeof value === 'string') {
      const reason = unstorableTextReason(value);
      if (reason) problems.push({ field: path, errors: [`${path} ${reason}`] });
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    if (depth >= MAX_JSON_DEPTH) {
      return new AppException(
        'invalid_body',
        `The request body is nested deeper than ${MAX_JSON_DEPTH} levels`,
      );
    }
    for (const [key, child] of Object.entries(value)) {
      const field = join(path, Array.isArray(value) ? Number(key) : key);
      if (FORBIDDEN_KEYS.has(key) || unstorableTextReason(key)) {
        problems.push({ field, errors: [`property ${field} should not exist`] });
        continue;
      }
      queue.push([child, field, depth + 1]);
    }
  }
  return problems.length > 0 ? new ValidationFailedException(problems) : undefined;
}

/** Express middleware placed right after the JSON body parser. */
export function jsonBodyGuard(req: Request, _res: Response, next: NextFunction): void {
  // body-parser leaves req.body undefined unless it parsed a JSON body.
  next(req.body === undefined ? undefined : checkJsonBody(req.body));
}
