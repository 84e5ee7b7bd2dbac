import type { NextFunction, Request, Response } from 'express';

import { AppException } from '../common/errors/app.exception';
import { ShutdownState } from './shutdown-state';

/**
 * While draining, every new request gets 503 shutting_down and its connection is closed, so
 * load balancers and keep-alive clients move on; readiness fails with it. Liveness still
 * answers: the process is alive, finishing its running turns.
 */
export function refuseWhileDraining(state: ShutdownState) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!state.isDraining || (req.method === 'GET' && req.path === '/health')) return next();
    res.setHeader('Connection', 'close');
    next(
      new AppException(
        'shutting_down',
        'This server is shutting down and takes no new requests; retry in a moment',
        { retryAfter: 1 },
      ),
    );
  };
}
