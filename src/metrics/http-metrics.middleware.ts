import { Injectable } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import onHeaders from 'on-headers';

import { MetricsService } from './metrics.service';

/**
 * Times every request: X-Process-Time on the response, a histogram by route pattern and
 * status. Plain Express middleware (setupApp mounts it): as a Nest middleware on every path
 * each request would also pay Nest's path match, exception proxy and once-per-request set.
 */
@Injectable()
export class HttpMetricsMiddleware {
  constructor(private readonly metrics: MetricsService) {}

  readonly use = (req: Request, res: Response, next: NextFunction): void => {
    const started = performance.now();
    onHeaders(res, () =>
      res.setHeader('X-Process-Time', `${(performance.now() - started).toFixed(1)}ms`),
    );
    // A response emits 'close' once, finished or cut off (on-finished's sockets watch is more
    // than a request needs here).
    res.once('close', () => {
      // The matched pattern, never the raw URL: ids would explode the label set.
      const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
      const seconds = (performance.now() - started) / 1000;
      this.metrics.observeRequest(req.method, `${req.baseUrl}${route}`, res.statusCode, seconds);
    });
    next();
  };
}
