import { AppException } from '../common/errors/app.exception';
import { LlmException, parseRetryAfter } from './llm.errors';
import { nextRetryDelay } from './retry-policy';

const retryable = (retryAfterMs?: number): LlmException =>
  new LlmException('provider_unavailable', 'upstream is down', { retryable: true, retryAfterMs });

describe(nextRetryDelay.name, () => {
  it('should not retry a non-retryable error', () => {
    const error = new LlmException('provider_auth_failed', 'bad key', { retryable: false });
    expect(nextRetryDelay(error, 0, { maxRetries: 3 })).toBeUndefined();
    expect(
      nextRetryDelay(new LlmException('provider_error', 'default is not retryable'), 0, {
        maxRetries: 3,
      }),
    ).toBeUndefined();
  });

  it('should not retry once the attempt reaches maxRetries', () => {
    const options = { maxRetries: 2, random: () => 0.5 };
    expect(nextRetryDelay(retryable(), 1, options)).toBeDefined();
    expect(nextRetryDelay(retryable(), 2, options)).toBeUndefined();
    expect(nextRetryDelay(retryable(), 3, options)).toBeUndefined();
    expect(nextRetryDelay(retryable(), 0, { maxRetries: 0 })).toBeUndefined();
  });

  it('should not retry errors that are not LlmExceptions', () => {
    const options = { maxRetries: 3 };
    expect(nextRetryDelay(new Error('boom'), 0, options)).toBeUndefined();
    expect(
      nextRetryDelay(new AppException('service_unavailable', 'not an llm error'), 0, options),
    ).toBe(undefined);
    expect(nextRetryDelay({ retry: { retryable: true } }, 0, options)).toBeUndefined();
    expect(nextRetryDelay(undefined, 0, options)).toBeUndefined();
  });

  it('should grow the delay exponentially, with jitter between half and all of the ceiling', () => {
    const options = { maxRetries: 10, baseDelayMs: 100, maxDelayMs: 100_000 };
    const low = (attempt: number) =>
      nextRetryDelay(retryable(), attempt, { ...options, random: () => 0 });
    const high = (attempt: number) =>
      nextRetryDelay(retryable(), attempt, { ...options, random: () => 1 });
    expect([0, 1, 2, 3].map(high)).toEqual([100, 200, 400, 800]);
    expect([0, 1, 2, 3].map(low)).toEqual([50, 100, 200, 400]);
    expect(nextRetryDelay(retryable(), 2, { ...options, random: () => 0.5 })).toBe(300);
  });

  it('should never exceed maxDelayMs', () => {
    const options = { maxRetries: 50, baseDelayMs: 250, maxDelayMs: 8000, random: () => 1 };
    for (let attempt = 0; attempt < 50; attempt++) {
      expect(nextRetryDelay(retryable(), attempt, options)).toBeLessThanOrEqual(8000);
    }
    expect(nextRetryDelay(retryable(), 10, options)).toBe(8000);
    expect(nextRetryDelay(retryable(), 10, { ...options, random: () => 0 })).toBe(4000);
  });

  it('should use 250 ms base and 8 s cap by default', () => {
    expect(nextRetryDelay(retryable(), 0, { maxRetries: 20, random: () => 1 })).toBe(250);
    expect(nextRetryDelay(retryable(), 15, { maxRetries: 20, random: () => 1 })).toBe(8000);
  });

  it('should wait exactly as long as Retry-After says', () => {
    const random = jest.fn(() => 0.5);
    expect(nextRetryDelay(retryable(1500), 0, { maxRetries: 3, random })).toBe(1500);
    expect(nextRetryDelay(retryable(0), 1, { maxRetries: 3, random })).toBe(0);
    // Retry-After overrides the backoff cap too.
    expect(nextRetryDelay(retryable(20_000), 0, { maxRetries: 3, maxDelayMs: 1000, random })).toBe(
      20_000,
    );
    expect(random).not.toHaveBeenCalled();
  });

  it('should give up when Retry-After is longer than maxRetryAfterMs', () => {
    expect(nextRetryDelay(retryable(30_001), 0, { maxRetries: 3 })).toBeUndefined();
    expect(nextRetryDelay(retryable(30_000), 0, { maxRetries: 3 })).toBe(30_000);
    expect(
      nextRetryDelay(retryable(5000), 0, { maxRetries: 3, maxRetryAfterMs: 4999 }),
    ).toBeUndefined();
  });
});

describe(parseRetryAfter.name, () => {
  const now = Date.parse('2025-01-01T00:00:00Z');

  it('should parse whole seconds', () => {
    expect(parseRetryAfter('2')).toBe(2000);
    expect(parseRetryAfter(' 120 ')).toBe(120_000);
    expect(parseRetryAfter('0')).toBe(0);
  });

  it('should parse fractional seconds', () => {
    expect(parseRetryAfter('1.5')).toBe(1500);
    expect(parseRetryAfter('0.25')).toBe(250);
  });

  it('should parse an HTTP date relative to now', () => {
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:30 GMT', now)).toBe(30_000);
  });

  it('should not return a negative delay for a date in the past', () => {
    expect(parseRetryAfter('Tue, 31 Dec 2024 23:59:00 GMT', now)).toBe(0);
  });

  it('should return undefined for missing or garbage values', () => {
    expect(parseRetryAfter(undefined)).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter('')).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter('not a date at all', now)).toBeUndefined();
  });
});

describe(LlmException.name, () => {
  it('should carry status 429 and a rounded-up Retry-After header when rate limited', () => {
    const error = new LlmException('provider_rate_limited', 'slow down', {
      retryable: true,
      retryAfterMs: 1500,
    });
    expect(error).toBeInstanceOf(AppException);
    expect(error.status).toBe(429);
    expect(error.code).toBe('provider_rate_limited');
    expect(error.message).toBe('slow down');
    expect(error.headers).toEqual({ 'Retry-After': '2' });
  });

  it('should send at least Retry-After: 1 for sub-second waits', () => {
    const error = new LlmException('provider_rate_limited', 'slow down', {
      retryable: true,
      retryAfterMs: 0,
    });
    expect(error.headers).toEqual({ 'Retry-After': '1' });
  });

  it('should send no Retry-After header when none is known or the error is not a rate limit', () => {
    expect(
      new LlmException('provider_rate_limited', 'slow down', { retryable: true }).extras.headers,
    ).toBeUndefined();
    const unavailable = new LlmException('provider_unavailable', 'down', {
      retryable: true,
      retryAfterMs: 5000,
    });
    expect(unavailable.status).toBe(503);
    expect(unavailable.extras.headers).toBeUndefined();
  });
});

describe('parseRetryAfter (strict forms)', () => {
  it('should refuse values that are neither seconds nor an HTTP date', () => {
    for (const value of ['-1', '-5', 'abc 1', '1,5', '2.', '.5'])
      expect(parseRetryAfter(value, 0)).toBeUndefined();
  });
});
