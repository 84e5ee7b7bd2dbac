import { ExecutionContext, Injectable } from '@nestjs/common';
import { ThrottlerGuard, ThrottlerLimitDetail } from '@nestjs/throttler';
import type { Request } from 'express';

import { AppException } from '../common/errors/app.exception';
import { LOCAL_OWNER } from './current-owner.decorator';

/** Requests per minute per owner, or per client IP when the request is anonymous. */
@Injectable()
export class OwnerThrottlerGuard extends ThrottlerGuard {
  protected override getTracker(req: Request): Promise<string> {
    return Promise.resolve(
      req.owner && req.owner !== LOCAL_OWNER ? `owner:${req.owner}` : `ip:${req.ip}`,
    );
  }

  /** One count per owner (or IP) across every route, as RATE_LIMIT_PER_MINUTE promises. */
  protected override generateKey(
    _context: ExecutionContext,
    tracker: string,
    name: string,
  ): string {
    return `${name}:${tracker}`;
  }

  protected override throwThrottlingException(
    _context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    throw new AppException(
      'rate_limited',
      `More than ${detail.limit} requests in ${detail.ttl / 1000} s; retry after ${detail.timeToBlockExpire} s`,
      {
        retryAfter: detail.timeToBlockExpire,
        // The guard sets these on answers it lets through, not on the one it refuses.
        headers: {
          'X-RateLimit-Limit': String(detail.limit),
          'X-RateLimit-Remaining': '0',
          'X-RateLimit-Reset': String(detail.timeToBlockExpire),
        },
      },
    );
  }
}
