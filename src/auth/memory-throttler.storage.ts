import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import type { ThrottlerStorageRecord } from '@nestjs/throttler/dist/throttler-storage-record.interface';

/** How often keys with nothing left to count are forgotten (as the library's storage). */
const SWEEP_MS = 60_000;
/** Expired hits are dropped from the front; the array is compacted past this many. */
const COMPACT_AFTER = 1024;

interface Counter {
  /** When each counted hit stops counting, oldest first (one ttl per key). */
  expiries: number[];
  /** expiries[0..head) have expired. */
  head: number;
  expiresAt: number;
  isBlocked: boolean;
  blockExpiresAt: number;
}

/**
 * The rate limiter's counts in this process (RATE_LIMIT_STORE=memory): the rules of
 * @nestjs/throttler's own memory storage (a sliding window of hits per key; going over the
 * limit blocks the key for the block duration), with the expired hits dropped from the
 * front of the window instead of the whole window filtered on every request, which cost
 * O(hits in the window) per request: 0.1–0.2 ms at a few thousand requests a minute.
 * A key is counted under one throttler name, as every caller here does.
 */
@Injectable()
export class MemoryThrottlerStorage implements ThrottlerStorage, OnApplicationShutdown {
  private readonly counters = new Map<string, Counter>();
  private sweeper?: NodeJS.Timeout;

  increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
  ): Promise<ThrottlerStorageRecord> {
    const now = Date.now();
    const counter = this.counter(key, ttl, now);
    dropExpired(counter, now);
    if (counter.expiresAt <= now) counter.expiresAt = now + ttl;
    const timeToExpire = Math.ceil((counter.expiresAt - now) / 1000);
    return Promise.resolve(
      blockDuration <= 0
        ? countWithoutBlock(counter, ttl, limit, timeToExpire, now)
        : countAndBlock(counter, { ttl, limit, blockDuration, timeToExpire }, now),
    );
  }

  onApplicationShutdown(): void {
    clearInterval(this.sweeper);
    this.counters.clear();
  }

  private counter(key: string, ttl: number, now: number): Counter {
    let counter = this.counters.get(key);
    if (!counter) {
      counter = {
        expiries: [],
        head: 0,
        expiresAt: now + ttl,
        isBlocked: false,
        blockExpiresAt: 0,
      };
      this.counters.set(key, counter);
      this.sweeper ??= setInterval(() => this.sweep(), SWEEP_MS).unref();
    }
    return counter;
  }

  /** Forgets the keys that are neither blocked nor counting anything. */
  private sweep(now = Date.now()): void {
    for (const [key, counter] of this.counters) {
      const blocked = counter.isBlocked && counter.blockExpiresAt > now;
      const lastHit = counter.expiries.at(-1) ?? 0;
      if (!blocked && counter.expiresAt <= now && lastHit <= now) this.counters.delete(key);
    }
  }
}

function dropExpired(counter: Counter, now: number): void {
  const { expiries } = counter;
  while (counter.head < expiries.length && expiries[counter.head] <= now) counter.head++;
  if (counter.head > COMPACT_AFTER && counter.head * 2 > expiries.length) {
    counter.expiries = expiries.slice(counter.head);
    counter.head = 0;
  }
}

const liveHits = (counter: Counter): number => counter.expiries.length - counter.head;

/** A route whose block duration is 0: over the limit is refused, nothing more. */
function countWithoutBlock(
  counter: Counter,
  ttl: number,
  limit: number,
  timeToExpire: number,
  now: number,
): ThrottlerStorageRecord {
  const isBlocked = liveHits(counter) >= limit;
  if (!isBlocked) counter.expiries.push(now + ttl);
  const oldest = counter.expiries[counter.head];
  const timeToBlockExpire = oldest === undefined ? timeToExpire : Math.ceil((oldest - now) / 1000);
  return {
    totalHits: liveHits(counter) + (isBlocked ? 1 : 0),
    timeToExpire,
    isBlocked,
    timeToBlockExpire: isBlocked ? timeToBlockExpire : 0,
  };
}

/** Going over the limit blocks the key for `blockDuration`; the count restarts after it. */
function countAndBlock(
  counter: Counter,
  rule: { ttl: number; limit: number; blockDuration: number; timeToExpire: number },
  now: number,
): ThrottlerStorageRecord {
  if (!counter.isBlocked) counter.expiries.push(now + rule.ttl);
  if (liveHits(counter) > rule.limit && !counter.isBlocked) {
    counter.isBlocked = true;
    counter.blockExpiresAt = now + rule.blockDuration;
  }
  const timeToBlockExpire = Math.ceil((counter.blockExpiresAt - now) / 1000);
  if (timeToBlockExpire <= 0 && counter.isBlocked) {
    counter.isBlocked = false;
    counter.expiries = [now + rule.ttl];
    counter.head = 0;
  }
  return {
    totalHits: liveHits(counter),
    timeToExpire: rule.timeToExpire,
    isBlocked: counter.isBlocked,
    timeToBlockExpire,
  };
}
