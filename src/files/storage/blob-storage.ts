import type { Readable } from 'node:stream';

/** Where a blob's bytes are. */
export interface StoredBlob {
  id: string;
  storage: string;
  storageKey: string | null;
}

/**
 * The bytes of file blobs, written as they stream in and read as a stream: never a whole
 * file in memory. One implementation per FILE_STORAGE, chosen at start-up; a blob records
 * its storage, so reads and deletes go where it was written.
 */
export interface BlobStorage {
  readonly kind: 'postgres' | 's3';
  /** Stores the pieces in order; returns the storage key (null when the blob id is enough). */
  write(blobId: string, pieces: AsyncIterable<Buffer>): Promise<string | null>;
  read(blob: StoredBlob): Readable;
  /** The whole blob at once (an image shown to a model): bounded by the caller. */
  readAll(blob: StoredBlob): Promise<Buffer>;
  /** Drops the bytes (idempotent). */
  delete(blob: StoredBlob): Promise<void>;
}

export const BLOB_STORAGE = Symbol('BlobStorage');

/** Bytes per stored piece (a file_chunks row, an S3 multipart part is at least 5 MiB). */
export const CHUNK_BYTES = 256 * 1024;
