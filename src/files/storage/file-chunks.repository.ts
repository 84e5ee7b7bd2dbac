import { Injectable } from '@nestjs/common';

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

  async deleteAll(blobId: string): Promise<void> {
    await this.db.deleteFrom('fileChunks').where('blobId', '=', blobId).execute();
  }
}
