import { Injectable, OnApplicationShutdown } from '@nestjs/common';

import { AppConfig } from '../../config/app-config';
import { BlobStorage, StoredBlob } from './blob-storage';
import { PostgresBlobStorage } from './postgres-blob.storage';
import { S3BlobStorage } from './s3-blob.storage';

/**
 * The storages: FILE_STORAGE's for new uploads, and each blob's own (the one it was
 * written to) for reads and deletes, so switching FILE_STORAGE keeps older files readable
 * as long as the old storage is still configured.
 */
@Injectable()
export class BlobStores implements OnApplicationShutdown {
  private readonly s3?: S3BlobStorage;

  constructor(
    private readonly postgres: PostgresBlobStorage,
    config: AppConfig,
  ) {
    const bucket = config.get('S3_BUCKET');
    if (bucket)
      this.s3 = new S3BlobStorage({
        bucket,
        endpoint: config.get('S3_ENDPOINT'),
        region: config.get('S3_REGION'),
        accessKeyId: config.get('S3_ACCESS_KEY_ID'),
        secretAccessKey: config.get('S3_SECRET_ACCESS_KEY'),
        forcePathStyle: config.get('S3_FORCE_PATH_STYLE'),
      });
    this.current = config.get('FILE_STORAGE') === 's3' && this.s3 ? this.s3 : this.postgres;
  }

  /** Where new uploads go. */
  readonly current: BlobStorage;

  of(blob: StoredBlob): BlobStorage {
    if (blob.storage === 'postgres') return this.postgres;
    if (!this.s3) throw new Error(`Blob ${blob.id} is in S3, but S3_BUCKET is not set`);
    return this.s3;
  }

  onApplicationShutdown(): void {
    this.s3?.close();
  }
}
