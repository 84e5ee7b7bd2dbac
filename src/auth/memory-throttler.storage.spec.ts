import { ThrottlerStorageService } from '@nestjs/throttler';

import { MemoryThrottlerStorage } from './memory-throttler.storage';

/** Keys as the limiters use them: a ttl, a limit and a block duration each. */
const KEYS = [
  { key: 'owner:a', ttl: 10_000, limit: 5, blockDuration: 10_000 },
  { key: 'owner:b', ttl: 10_000, limit: 3, blockDuration: 4_000 },
  { key: 'ip:c', ttl: 6_000, limit: 4, blockDuration: 0 },
];

/** A small deterministic generator, so a failure names a sequence that can be replayed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

describe('MemoryThrottlerStorage', () => {
  beforeEach(() => jest.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') }));
  afterEach(() => jest.useRealTimers());

  it.each([1, 2, 3, 4, 5])(
    'answers every request as @nestjs/throttler’s own memory storage does (sequence %i)',
    async (seed) => {
      const next = random(seed);
      const ours = new MemoryThrottlerStorage();
      const library = new ThrottlerStorageService();
      const seen = new Set<string>();
      try {
        for (let i = 0; i < 400; i++) {
          // Bursts (no time passing) and pauses up to longer than a window.
          if (next() < 0.5) jest.advanceTimersByTime(Math.floor(next() * 3_000));
          const { key, ttl, limit, blockDuration } = KEYS[Math.floor(next() * KEYS.length)];
          const expected = await library.increment(key, ttl, limit, blockDuration, 'default');
          const actual = await ours.increment(key, ttl, limit, blockDuration);
          expect({ i, key, ...actual }).toEqual({ i, key, ...expected });
          seen.add(`${key} ${actual.isBlocked ? 'blocked' : 'counted'}`);
        }
        // The sequence went through both states of every key.
        expect(seen.size).toBe(KEYS.length * 2);
      } finally {
        ours.onApplicationShutdown();
        library.onApplicationShutdown();
      }
    },
  );

  it('counts a long window: 50,000 live hits, then a block once over the limit', async () => {
    const storage = new MemoryThrottlerStorage();
    let refused = 0;
    for (let i = 0; i < 50_000; i++) {
      jest.setSystemTime(Date.now() + 1);
      const record = await storage.increment('owner:busy', 60_000, 50_000, 60_000);
      if (record.isBlocked) refused++;
    }
    expect(refused).toBe(0);
    const over = await storage.increment('owner:busy', 60_000, 50_000, 60_000);
    expect(over).toMatchObject({ isBlocked: true, totalHits: 50_001, timeToBlockExpire: 60 });
    storage.onApplicationShutdown();
  });
});
