import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';

/**
 * One line per request when it ends (finished or cut off), at info: method, URL, matched
 * route, status, duration, correlation id. Mounted only when the level writes info, so at
 * warn no request pays for a listener or a line it would not write.
 */
export function requestLine(logger: Logger) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const started = Date.now();
    res.once('close', () => {
      const line = {
        correlationId: req.id,
        req,
        res,
        // The matched pattern (null when no route matched), the one metrics label requests by.
        route: (req.route as { path?: string } | undefined)?.path ?? null,
        responseTime: Date.now() - started,
      };
      if (res.statusCode >= 500) logger.error(line, 'request errored');
      else logger.info(line, 'request completed');
    });
    next();
  };
}
