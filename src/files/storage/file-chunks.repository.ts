import { Injectable } from '@nestjs/common';
import { Compilable, sql } from 'kysely';
import { to as copyTo } from 'pg-copy-streams';

import { Db } from '../../database/db';
import { PrismaService } from '../../database/prisma.service';
import { BinaryCopyReader } from './binary-copy';

/** Chunks' bytes as COPY delivered them: slices in order, and how many chunks they end. */
export interface ChunkBytes {
  pieces: Buffer[];
  chunks: number;
}

/**
 * The bytes of blobs stored in PostgreSQL. Reads go through `COPY … (FORMAT binary)`: a
 * bytea column read by a query arrives as hex text, which cost Node a 2 MB string and its
 * decoding per MB (the files and vision benches), and kept those strings in the heap's
 * large-object space until a full GC.
 */
@Injectable()
export class FileChunksRepository {
  constructor(
    private readonly db: Db,
    private readonly prisma: PrismaService,
  ) {}

  async insert(blobId: string, n: number, data: Buffer): Promise<void> {
    await this.db.insertInto('fileChunks').values({ blobId, n, data }).execute();
  }

  /** Up to `count` chunks from number `from`, in order. */
  async read(blobId: string, from: number, count: number): Promise<ChunkBytes> {
    return this.copyOut(
      this.db
        .selectFrom('fileChunks')
        .select('data')
        .where('blobId', '=', sql.lit(blobId))
        .where('n', '>=', sql.lit(from))
        .where('n', '<', sql.lit(from + count))
        .orderBy('n'),
    );
  }

  /** Every chunk of the blob, in order (an attached image, bounded by its caller). */
  async readAll(blobId: string): Promise<ChunkBytes> {
    return this.copyOut(
      this.db
        .selectFrom('fileChunks')
        .select('data')
        .where('blobId', '=', sql.lit(blobId))
        .orderBy('n'),
    );
  }

  async deleteAll(blobId: string): Promise<void> {
    await this.db.deleteFrom('fileChunks').where('blobId', '=', blobId).execute();
  }

  /**
   * Runs the one-column query as a binary COPY (which takes no parameters: its values are
   * literals, escaped by Kysely) and collects its values' bytes. Read whole before the
   * connection goes back, so a slow download never holds one.
   */
  private async copyOut(query: Compilable<{ data: Buffer }>): Promise<ChunkBytes> {
    const client = await this.prisma.pool.connect();
    try {
      const copy = client.query(copyTo(`COPY (${query.compile().sql}) TO STDOUT (FORMAT binary)`));
      const reader = new BinaryCopyReader();
      const pieces: Buffer[] = [];
      for await (const piece of copy)
        for (const { bytes } of reader.push(piece as Buffer)) pieces.push(bytes);
      reader.finish();
      client.release();
      return { pieces, chunks: reader.values };
    } catch (error) {
      // A connection left mid-COPY cannot be reused.
      client.release(error as Error);
      throw error;
    }
  }
}
