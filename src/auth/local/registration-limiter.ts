import { Injectable } from '@nestjs/common';

import { AppException } from '../../common/errors/app.exception';
import { AppConfig } from '../../config/app-config';
import { PostgresThrottlerStorage } from '../postgres-throttler.storage';

const HOUR_MS = 3_600_000;

/**
 * Registrations per client address and hour, counted in PostgreSQL's rate_limits table
 * (like sign-in failures) so every replica shares one allowance. Each attempt that reaches
 * registration counts, taken usernames included, and it is counted before the password is
 * hashed: a flood costs neither accounts nor argon2 time. Past the limit the address is
 * refused for an hour.
 */
@Injectable()
export class RegistrationLimiter {
  constructor(
    private readonly config: AppConfig,
    private readonly storage: PostgresThrottlerStorage,
  ) {}

  /** Counts an attempt; throws 429 rate_limited once the address is over its limit. */
  async take(ip: string): Promise<void> {
    const limit = this.config.get('REGISTRATIONS_PER_HOUR_PER_ADDRESS');
    const record = await this.storage.increment(`registrations:ip:${ip}`, HOUR_MS, limit, HOUR_MS);
    if (!record.isBlocked) return;
    const retryAfter = Math.max(1, record.timeToBlockExpire);
    throw new AppException(
      'rate_limited',
      `Too many registrations from this address; retry after ${retryAfter} s`,
      { retryAfter },
    );
  }
}
