import { Injectable } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import type { ThrottlerStorageRecord } from '@nestjs/throttler/dist/throttler-storage-record.interface';
import { sql } from 'kysely';

import { Db } from '../database/db';

/** One in this many increments also deletes expired counters. */
const CLEAN_EVERY = 1000;

/**
 * The rate limiter's counts in PostgreSQL, so a limit holds across every replica: one
 * upsert per request (a window that lapsed starts again at 1; going over the limit blocks
 * the key for the block duration), the same rules as @nestjs/throttler's memory storage.
 */
@Injectable()
export class PostgresThrottlerStorage implements ThrottlerStorage {
  constructor(private readonly db: Db) {}

  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
  ): Promise<ThrottlerStorageRecord> {
    const fresh = sql`(r.expires_at <= now() and (r.blocked_until is null or r.blocked_until <= now()))`;
    const hits = sql`case when ${fresh} then 1 else r.hits + 1 end`;
    const { rows } = await sql<{ hits: number; expiresInMs: number; blockedForMs: number }>`
      insert into rate_limits as r (key, hits, expires_at, blocked_until)
      values (${key}, 1, now() + ${ttl} * interval '1 millisecond',
        case when 1 > ${limit} then now() + ${blockDuration} * interval '1 millisecond' end)
      on conflict (key) do update set
        hits = ${hits},
        expires_at = case when r.expires_at <= now() then now() + ${ttl} * interval '1 millisecond' else r.expires_at end,
        blocked_until = case
          when r.blocked_until > now() then r.blocked_until
          when ${hits} > ${limit} then now() + ${blockDuration} * interval '1 millisecond'
        end
      returning hits,
        greatest(0, extract(epoch from expires_at - now()) * 1000)::int as "expiresInMs",
        coalesce(greatest(0, extract(epoch from blocked_until - now()) * 1000), 0)::int as "blockedForMs"`.execute(
      this.db,
    );
    if (Math.random() * CLEAN_EVERY < 1) void this.clean();
    const row = rows[0];
    return {
      totalHits: row.hits,
      timeToExpire: Math.ceil(row.expiresInMs / 1000),
      isBlocked: row.blockedForMs > 0,
      timeToBlockExpire: Math.ceil(row.blockedForMs / 1000),
    };
  }

  /** Seconds until every one of `keys` is unblocked (0: none is blocked), without counting. */
  async blockedSeconds(keys: string[]): Promise<number> {
    const row = await this.db
      .selectFrom('rateLimits')
      .select(
        sql<number>`coalesce(ceil(extract(epoch from max(blocked_until) - now())), 0)::int`.as(
          'seconds',
        ),
      )
      .where('key', 'in', keys)
      .where('blockedUntil', '>', sql<Date>`now()`)
      .executeTakeFirst();
    return row?.seconds ?? 0;
  }

  /** Forgets a key's count (e.g. failures, after a success). */
  async reset(key: string): Promise<void> {
    await this.db.deleteFrom('rateLimits').where('key', '=', key).execute();
  }

  private async clean(): Promise<void> {
    await this.db
      .deleteFrom('rateLimits')
      .where('expiresAt', '<', sql<Date>`now()`)
      .where((eb) =>
        eb.or([eb('blockedUntil', 'is', null), eb('blockedUntil', '<', sql<Date>`now()`)]),
      )
      .execute()
      .catch(() => undefined);
  }
}
