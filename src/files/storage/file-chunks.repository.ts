import { Injectable } from '@nestjs/common';
import { sql } from 'kysely';

import { Db } from '../../database/db';

/** The bytes of blobs stored in PostgreSQL. */
@Injectable()
export class FileChunksRepository {
  constructor(private readonly db: Db) {}

  async insert(blobId: string, n: number, data: Buffer): Promise<void> {
    await this.db.insertInto('fileChunks').values({ blobId, n, data }).execute();
  }

  /** Up to `count` chunks from number `from`, in order. */
  async read(blobId: string, from: number, count: number): Promise<Buffer[]> {
    const rows = await this.db
      .selectFrom('fileChunks')
      .select('data')
      .where('blobId', '=', blobId)
      .where('n', '>=', from)
      .where('n', '<', from + count)
      .orderBy('n')
      .execute();
    return rows.map((row) => row.data);
  }

  /**
   * The blob's bytes as one base64 string (no line breaks), encoded by PostgreSQL: a bytea
   * read as text arrives as hex, twice its size, which Node would decode and then encode
   * again; the base64 text arrives a third larger and is used as it is.
   */
  async readBase64(blobId: string): Promise<string> {
    const row = await this.db
      .selectFrom('fileChunks')
      .select(
        sql<string>`replace(encode(string_agg(data, ''::bytea ORDER BY n), 'base64'), E'\n', '')`.as(
          'base64',
        ),
      )
      .where('blobId', '=', blobId)
      .executeTakeFirst();
    return row?.base64 ?? '';
  }

  async deleteAll(blobId: string): Promise<void> {
    await this.db.deleteFrom('fileChunks').where('blobId', '=', blobId).execute();
  }
}
