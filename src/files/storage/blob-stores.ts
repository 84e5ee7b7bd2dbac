import { Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';

import { AppConfig } from '../../config/app-config';
import { BlobStorage, StoredBlob } from './blob-storage';
import { PostgresBlobStorage } from './postgres-blob.storage';
import type { S3BlobStorage } from './s3-blob.storage';

/**
 * The storages: FILE_STORAGE's for new uploads, and each blob's own (the one it was
 * written to) for reads and deletes, so switching FILE_STORAGE keeps older files readable
 * as long as the old storage is still configured.
 */
@Injectable()
export class BlobStores implements OnModuleInit, OnApplicationShutdown {
  private s3?: S3BlobStorage;
  private uploads: BlobStorage;

  constructor(
    private readonly postgres: PostgresBlobStorage,
    private readonly config: AppConfig,
  ) {
    this.uploads = postgres;
  }

  /** S3 is loaded only when configured: the AWS SDK alone holds ~22 MB of memory. */
  async onModuleInit(): Promise<void> {
    const bucket = this.config.get('S3_BUCKET');
    if (!bucket) return;
    const { S3BlobStorage } = await import('./s3-blob.storage.js');
    this.s3 = new S3BlobStorage({
      bucket,
      endpoint: this.config.get('S3_ENDPOINT'),
      region: this.config.get('S3_REGION'),
      accessKeyId: this.config.get('S3_ACCESS_KEY_ID'),
      secretAccessKey: this.config.get('S3_SECRET_ACCESS_KEY'),
      forcePathStyle: this.config.get('S3_FORCE_PATH_STYLE'),
    });
    if (this.config.get('FILE_STORAGE') === 's3') this.uploads = this.s3;
  }

  /** Where new uploads go. */
  get current(): BlobStorage {
    return this.uploads;
  }

  of(blob: StoredBlob): BlobStorage {
    if (blob.storage === 'postgres') return this.postgres;
    if (!this.s3) throw new Error(`Blob ${blob.id} is in S3, but S3_BUCKET is not set`);
    return this.s3;
  }

  onApplicationShutdown(): void {
    this.s3?.close();
  }
}
