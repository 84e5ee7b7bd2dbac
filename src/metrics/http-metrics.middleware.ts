import { Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import onFinished from 'on-finished';
import onHeaders from 'on-headers';

import { MetricsService } from './metrics.service';

/** Times every request: X-Process-Time on the response, a histogram by route pattern and status. */
@Injectable()
export class HttpMetricsMiddleware implements NestMiddleware {
  constructor(private readonly metrics: MetricsService) {}

  use(req: Request, res: Response, next: NextFunction): void {
    const started = process.hrtime.bigint();
    const elapsed = (): number => Number(process.hrtime.bigint() - started) / 1e9;
    onHeaders(res, () => res.setHeader('X-Process-Time', `${(elapsed() * 1000).toFixed(1)}ms`));
    onFinished(res, () => {
      // The matched pattern, never the raw URL: ids would explode the label set.
      const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
      this.metrics.observeRequest(req.method, `${req.baseUrl}${route}`, res.statusCode, elapsed());
    });
    next();
  }
}
