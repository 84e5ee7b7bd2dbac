import { Injectable } from '@nestjs/common';

import { AppException } from '../../common/errors/app.exception';
import { AppConfig } from '../../config/app-config';
import { PostgresThrottlerStorage } from '../postgres-throttler.storage';

const tooMany = (retryAfter: number): AppException =>
  new AppException(
    'rate_limited',
    `Too many failed sign-ins for this username or from this address; retry after ${retryAfter} s`,
    { retryAfter },
  );

/**
 * Failed sign-ins per username and per client IP, counted in PostgreSQL's rate_limits
 * table whatever RATE_LIMIT_STORE says: a password guesser gets the same allowance however
 * many replicas it spreads over, and a sign-in is rare enough for one more query. The
 * failure past a limit answers 429, and the username or address is refused for
 * LOGIN_FAILURE_WINDOW_S before any password is checked. Unknown usernames count like
 * known ones, so the limiter does not tell which exist.
 */
@Injectable()
export class LoginLimiter {
  private readonly windowMs: number;

  constructor(
    private readonly config: AppConfig,
    private readonly storage: PostgresThrottlerStorage,
  ) {
    this.windowMs = config.get('LOGIN_FAILURE_WINDOW_S') * 1000;
  }

  /** Throws 429 rate_limited while the username or the address is blocked. */
  async assertAllowed(username: string, ip: string): Promise<void> {
    const seconds = await this.storage.blockedSeconds([accountKey(username), ipKey(ip)]);
    if (seconds > 0) throw tooMany(seconds);
  }

  /** Counts a failure; the 429 to answer instead of the 401 once either is over its limit. */
  async recordFailure(username: string, ip: string): Promise<AppException | undefined> {
    const [account, address] = await Promise.all([
      this.count(accountKey(username), this.config.get('LOGIN_FAILURES_PER_ACCOUNT')),
      this.count(ipKey(ip), this.config.get('LOGIN_FAILURES_PER_IP')),
    ]);
    const seconds = Math.max(account, address);
    return seconds > 0 ? tooMany(seconds) : undefined;
  }

  /** A successful sign-in clears the account's failures (the address's stay counted). */
  recordSuccess(username: string): Promise<void> {
    return this.storage.reset(accountKey(username));
  }

  /** Seconds the key is now blocked for (0: still under its limit). */
  private async count(key: string, limit: number): Promise<number> {
    const record = await this.storage.increment(key, this.windowMs, limit, this.windowMs);
    return record.isBlocked ? Math.max(1, record.timeToBlockExpire) : 0;
  }
}

const accountKey = (username: string): string => `login-failures:user:${username.toLowerCase()}`;
const ipKey = (ip: string): string => `login-failures:ip:${ip}`;
