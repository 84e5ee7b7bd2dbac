import { Inject, Injectable } from '@nestjs/common';
import { ThrottlerStorage } from '@nestjs/throttler';

import { AppException } from '../common/errors/app.exception';
import { AppConfig } from '../config/app-config';

const WINDOW_MS = 60_000;
/** Past this many blocked addresses remembered, lapsed ones are swept on the next block. */
const SWEEP_ABOVE = 10_000;

const tooMany = (retryAfter: number): AppException =>
  new AppException(
    'rate_limited',
    `Too many failed authentications from this address; retry after ${retryAfter} s with valid credentials`,
    { retryAfter },
  );

/**
 * Failed authentications per client IP, counted in the request limiter's storage (memory,
 * or PostgreSQL shared by replicas with RATE_LIMIT_STORE=postgres). The failure past
 * AUTH_FAILURES_PER_MINUTE answers 429, and from then on this process refuses the address
 * before any credential is checked until the block ends: guessing keys or flooding the
 * verifier costs one map lookup per request.
 */
@Injectable()
export class AuthFailureLimiter {
  private readonly blockedUntil = new Map<string, number>();
  private readonly limit: number;

  constructor(
    config: AppConfig,
    @Inject(ThrottlerStorage) private readonly storage: ThrottlerStorage,
  ) {
    this.limit = config.get('AUTH_FAILURES_PER_MINUTE');
  }

  /** Throws 429 rate_limited while `ip` is blocked. */
  assertAllowed(ip: string, now = Date.now()): void {
    const until = this.blockedUntil.get(ip);
    if (until === undefined) return;
    if (until > now) throw tooMany(Math.max(1, Math.ceil((until - now) / 1000)));
    this.blockedUntil.delete(ip);
  }

  /** Counts a failure; the 429 to answer instead of the 401 once `ip` is over the limit. */
  async recordFailure(ip: string): Promise<AppException | undefined> {
    const record = await this.storage.increment(
      `auth-failures:${ip}`,
      WINDOW_MS,
      this.limit,
      WINDOW_MS,
      'auth-failures',
    );
    if (!record.isBlocked) return undefined;
    const now = Date.now();
    if (this.blockedUntil.size >= SWEEP_ABOVE) {
      for (const [address, until] of this.blockedUntil)
        if (until <= now) this.blockedUntil.delete(address);
    }
    this.blockedUntil.set(ip, now + record.timeToBlockExpire * 1000);
    return tooMany(Math.max(1, record.timeToBlockExpire));
  }
}
