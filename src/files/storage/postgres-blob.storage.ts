import { Readable } from 'node:stream';

import { Injectable } from '@nestjs/common';

import { FileChunksRepository } from './file-chunks.repository';
import { BlobStorage, StoredBlob } from './blob-storage';

/** Chunks read per query on download: about 1 MiB per round trip, 1 MiB held at most. */
const CHUNKS_PER_READ = 4;

/** FILE_STORAGE=postgres: file_chunks rows of CHUNK_BYTES each, inserted as they arrive. */
@Injectable()
export class PostgresBlobStorage implements BlobStorage {
  readonly kind = 'postgres';

  constructor(private readonly chunks: FileChunksRepository) {}

  async write(blobId: string, pieces: AsyncIterable<Buffer>): Promise<null> {
    let n = 0;
    for await (const piece of pieces) await this.chunks.insert(blobId, n++, piece);
    return null;
  }

  read(blob: StoredBlob): Readable {
    const chunks = this.chunks;
    async function* pieces(): AsyncGenerator<Buffer> {
      for (let from = 0; ; from += CHUNKS_PER_READ) {
        const read = await chunks.read(blob.id, from, CHUNKS_PER_READ);
        yield* read.pieces;
        if (read.chunks < CHUNKS_PER_READ) return;
      }
    }
    return Readable.from(pieces(), { objectMode: false, highWaterMark: 1 });
  }

  async readAll(blob: StoredBlob): Promise<Buffer> {
    return Buffer.concat((await this.chunks.readAll(blob.id)).pieces);
  }

  async delete(blob: StoredBlob): Promise<void> {
    await this.chunks.deleteAll(blob.id);
  }
}
