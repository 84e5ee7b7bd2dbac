import { Injectable } from '@nestjs/common';
import { sql } from 'kysely';

import { Db } from '../../database/db';

export interface NewRefreshToken {
  id: string;
  tokenHash: string;
  ttlSeconds: number;
}

const expiresIn = (seconds: number) => sql<Date>`now() + ${seconds} * interval '1 second'`;

/**
 * Refresh tokens by the sha256 of their value. A sign-in starts a family; each refresh
 * revokes the token it used, names its successor (`replaced_by`) and adds it to the family.
 */
@Injectable()
export class RefreshTokensRepository {
  constructor(private readonly db: Db) {}

  /** Starts a sign-in's family, and drops the user's tokens that have expired meanwhile. */
  async issue(userId: string, token: NewRefreshToken): Promise<void> {
    await this.db
      .deleteFrom('refreshTokens')
      .where('userId', '=', userId)
      .where('expiresAt', '<', sql<Date>`now()`)
      .execute();
    await this.db
      .insertInto('refreshTokens')
      .values({
        id: token.id,
        userId,
        familyId: token.id,
        tokenHash: token.tokenHash,
        expiresAt: expiresIn(token.ttlSeconds),
      })
      .execute();
  }

  /**
   * In one statement: revokes the live token `tokenHash` and stores `next` in its family.
   * The user it belongs to, or undefined when it is unknown, expired or already revoked
   * (two refreshes racing with one token: exactly one of them wins).
   */
  async rotate(tokenHash: string, next: NewRefreshToken): Promise<string | undefined> {
    const { rows } = await sql<{ userId: string }>`
      with old as (
        update refresh_tokens set revoked_at = now(), replaced_by = ${next.id}
        where token_hash = ${tokenHash} and revoked_at is null and expires_at > now()
        returning user_id, family_id)
      insert into refresh_tokens (id, user_id, family_id, token_hash, expires_at)
      select ${next.id}, user_id, family_id, ${next.tokenHash}, ${expiresIn(next.ttlSeconds)}
      from old
      returning user_id`.execute(this.db);
    return rows[0]?.userId;
  }

  /** Whether `tokenHash` names a token that was revoked (used, or signed out) and is not yet expired. */
  async isRevoked(tokenHash: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('refreshTokens')
      .select('id')
      .where('tokenHash', '=', tokenHash)
      .where('revokedAt', 'is not', null)
      .where('expiresAt', '>', sql<Date>`now()`)
      .executeTakeFirst();
    return row !== undefined;
  }

  /** Revokes every live token of the family `tokenHash` belongs to (sign-out, or a replay). */
  async revokeFamily(tokenHash: string): Promise<void> {
    await this.db
      .updateTable('refreshTokens')
      .set({ revokedAt: sql<Date>`now()` })
      .where('revokedAt', 'is', null)
      .where('familyId', '=', (eb) =>
        eb.selectFrom('refreshTokens').select('familyId').where('tokenHash', '=', tokenHash),
      )
      .execute();
  }
}
