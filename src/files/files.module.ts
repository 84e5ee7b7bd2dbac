import { Module } from '@nestjs/common';

import { FileJobs } from './file-jobs.service';
import { FilesController } from './files.controller';
import { FilesRepository } from './files.repository';
import { FilesService } from './files.service';
import { BlobStores } from './storage/blob-stores';
import { FileChunksRepository } from './storage/file-chunks.repository';
import { PostgresBlobStorage } from './storage/postgres-blob.storage';

/** Uploaded files: storage, type sniffing, document text, lifecycle (docs/files.md). */
@Module({
  controllers: [FilesController],
  providers: [
    FilesService,
    FilesRepository,
    FileJobs,
    BlobStores,
    PostgresBlobStorage,
    FileChunksRepository,
  ],
  exports: [FilesService],
})
export class FilesModule {}
