import { Readable } from 'node:stream';

import { DeleteObjectCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

import { BlobStorage, StoredBlob } from './blob-storage';

export interface S3Settings {
  bucket: string;
  endpoint?: string;
  region: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  forcePathStyle: boolean;
}

/** Parts of a multipart upload in flight at once: at most this many × 5 MiB held. */
const QUEUE_SIZE = 2;
const PART_BYTES = 5 * 1024 * 1024;

/**
 * FILE_STORAGE=s3: one object per blob (`files/<owner-free blob id>`), written by a
 * streaming multipart upload (lib-storage) and read as the object's body stream.
 */
export class S3BlobStorage implements BlobStorage {
  readonly kind = 's3';
  private readonly client: S3Client;

  constructor(private readonly settings: S3Settings) {
    const { endpoint, region, accessKeyId, secretAccessKey, forcePathStyle } = settings;
    this.client = new S3Client({
      endpoint,
      region,
      forcePathStyle,
      credentials: accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : undefined,
      // Checksums only where S3 requires them: the SDK's default (trailing CRC32 in an
      // aws-chunked body) is refused by many S3-compatible servers.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  async write(blobId: string, pieces: AsyncIterable<Buffer>): Promise<string> {
    const key = `files/${blobId}`;
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.settings.bucket, Key: key, Body: Readable.from(pieces) },
      queueSize: QUEUE_SIZE,
      partSize: PART_BYTES,
      leavePartsOnError: false,
    });
    await upload.done();
    return key;
  }

  read(blob: StoredBlob): Readable {
    const { bucket } = this.settings;
    const client = this.client;
    async function* body(): AsyncGenerator<Buffer> {
      const object = await client.send(
        new GetObjectCommand({ Bucket: bucket, Key: blob.storageKey ?? `files/${blob.id}` }),
      );
      for await (const piece of object.Body as Readable) yield piece as Buffer;
    }
    return Readable.from(body(), { objectMode: false, highWaterMark: 1 });
  }

  async readAll(blob: StoredBlob): Promise<Buffer> {
    const pieces: Buffer[] = [];
    for await (const piece of this.read(blob)) pieces.push(piece as Buffer);
    return Buffer.concat(pieces);
  }

  async delete(blob: StoredBlob): Promise<void> {
    await this.client.send(
      new DeleteObjectCommand({
        Bucket: this.settings.bucket,
        Key: blob.storageKey ?? `files/${blob.id}`,
      }),
    );
  }

  /** The client's sockets, at shutdown. */
  close(): void {
    this.client.destroy();
  }
}
