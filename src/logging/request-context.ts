import type { NextFunction, Request, Response } from 'express';
// nestjs-pino's own request store, the one its Logger reads: Nest's log lines written while
// serving a request go to the logger of the app serving it (tests run several in a process).
import { storage, Store } from 'nestjs-pino/storage';
import type { Logger } from 'pino';

/** The request being served, beside the logger nestjs-pino writes its lines to. */
class RequestStore extends Store {
  constructor(
    logger: Logger,
    readonly request: Request,
  ) {
    super(logger);
  }
}

/**
 * Express middleware, right after the correlation id: the rest of the request runs in its
 * store. Nothing is built for a line until one is written (see requestBindings), so a level
 * that writes nothing costs one store per request. pino-http, which nestjs-pino mounts by
 * default, builds a child logger and serializes the request for every request at any level.
 */
export function requestContext(logger: Logger) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    storage.run(new RequestStore(logger, req), next);
  };
}

/** pino `mixin`, read for each line written: what a line written while serving a request carries. */
export function requestBindings(): Record<string, unknown> {
  const store = storage.getStore();
  return store instanceof RequestStore
    ? { correlationId: store.request.id, req: store.request }
    : {};
}
