import { Injectable } from '@nestjs/common';
import { sql } from 'kysely';

import { AppException } from '../../common/errors/app.exception';
import { isUniqueViolation } from '../../common/errors/database-errors';
import { newId } from '../../common/ids';
import { Db } from '../../database/db';

export interface UserRecord {
  id: string;
  username: string;
  createdAt: Date;
}

/** The unique index that makes Alice and alice one account. */
const USERNAME_KEY = 'users_username_lower_key';

const byUsername = (username: string) => sql<boolean>`lower(username) = lower(${username})`;

@Injectable()
export class UsersRepository {
  constructor(private readonly db: Db) {}

  /** Adds an account; 409 username_taken when the name is in use in any case. */
  async create(username: string, passwordHash: string): Promise<UserRecord> {
    try {
      return await this.db
        .insertInto('users')
        .values({ id: newId(), username, passwordHash })
        .returning(['id', 'username', 'createdAt'])
        .executeTakeFirstOrThrow();
    } catch (error) {
      if (isUniqueViolation(error, USERNAME_KEY))
        throw new AppException('username_taken', `The username "${username}" is taken`);
      throw error;
    }
  }

  /** The account signing in as `username`, whatever the case it is typed in. */
  findCredentials(username: string): Promise<{ id: string; passwordHash: string } | undefined> {
    return this.db
      .selectFrom('users')
      .select(['id', 'passwordHash'])
      .where(byUsername(username))
      .executeTakeFirst();
  }

  async findUsername(id: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('users')
      .select('username')
      .where('id', '=', id)
      .executeTakeFirst();
    return row?.username;
  }

  /** Removes an account; its refresh tokens go with it (its conversations stay). */
  async delete(username: string): Promise<boolean> {
    const result = await this.db.deleteFrom('users').where(byUsername(username)).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  /**
   * Hands every conversation of `fromOwner` (the one owner `local` of AUTH_MODE=none, or
   * an API-key owner) to the account `username`; how many moved, or undefined when there
   * is no such account. One statement, so a conversation is never half handed over.
   */
  async adoptConversations(username: string, fromOwner: string): Promise<number | undefined> {
    const user = await this.db
      .selectFrom('users')
      .select('id')
      .where(byUsername(username))
      .executeTakeFirst();
    if (!user) return undefined;
    const result = await this.db
      .updateTable('conversations')
      .set({ ownerId: user.id })
      .where('ownerId', '=', fromOwner)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }
}
