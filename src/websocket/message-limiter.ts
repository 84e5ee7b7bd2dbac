import { Inject, Injectable } from '@nestjs/common';
import { ThrottlerStorage } from '@nestjs/throttler';

import { AppException } from '../common/errors/app.exception';
import { AppConfig } from '../config/app-config';

const WINDOW_MS = 60_000;

/**
 * RATE_LIMIT_PER_MINUTE for WebSocket messages, which the HTTP throttler never sees. It
 * counts in the throttler's storage, so a shared storage configured for HTTP serves it too.
 */
@Injectable()
export class MessageLimiter {
  private readonly limit: number;

  constructor(
    @Inject(ThrottlerStorage) private readonly storage: ThrottlerStorage,
    config: AppConfig,
  ) {
    this.limit = config.get('RATE_LIMIT_PER_MINUTE');
  }

  /** Counts one message for `key`; throws `rate_limited` past the limit. */
  async take(key: string): Promise<void> {
    const { isBlocked, timeToBlockExpire } = await this.storage.increment(
      `ws:${key}`,
      WINDOW_MS,
      this.limit,
      WINDOW_MS,
      'websocket',
    );
    if (isBlocked) {
      throw new AppException(
        'rate_limited',
        `More than ${this.limit} messages in 60 s; retry after ${timeToBlockExpire} s`,
        { retryAfter: timeToBlockExpire },
      );
    }
  }
}
