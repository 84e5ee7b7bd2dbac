import {
  BeforeApplicationShutdown,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';

import { BackgroundJobs } from '../common/background-jobs';
import { AppConfig } from '../config/app-config';
import { extractInWorker } from './extraction/document-extractor';
import { ClaimedBlob, FilesRepository } from './files.repository';
import { StoredBlob } from './storage/blob-storage';
import { BlobStores } from './storage/blob-stores';

/** Time a claim is held beyond FILE_EXTRACT_TIMEOUT_MS (reading the bytes, storing the text). */
const LEASE_MARGIN_MS = 30_000;
/** Claims of one document whose process died before the next is given up. */
export const MAX_EXTRACT_ATTEMPTS = 3;
/** An upload still `uploading` this long was left by a process that died. */
const ABANDONED_UPLOAD_MS = 6 * 3600 * 1000;
const ORPHAN_BATCH = 100;

/**
 * The files' background work, in every replica, coordinated through the database: document
 * extraction (claimed with a lease, so a crashed replica's document is taken over once its
 * lease lapses) one at a time per process, and a periodic sweep that deletes orphaned files
 * (older than FILE_ORPHAN_TTL, referenced by no message) and uploads left half-written.
 */
@Injectable()
export class FileJobs implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(FileJobs.name);
  private readonly jobs = new BackgroundJobs();
  private timer?: NodeJS.Timeout;
  private extracting = false;
  private again = false;

  constructor(
    private readonly files: FilesRepository,
    private readonly stores: BlobStores,
    private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => this.sweepSoon(), this.config.get('FILE_SWEEP_MS'));
    this.timer.unref();
    this.sweepSoon();
  }

  /** Starts extracting waiting documents, unless this process already is (it then looks again). */
  extractSoon(): void {
    if (this.extracting) {
      this.again = true;
      return;
    }
    this.extracting = true;
    this.jobs.run(async (signal) => {
      try {
        do {
          this.again = false;
          while (!signal.aborted && (await this.extractNext(signal)));
        } while (this.again && !signal.aborted);
      } catch (error) {
        this.logger.warn({ err: error }, 'document extraction stopped; the next sweep goes on');
      } finally {
        this.extracting = false;
      }
    });
  }

  private sweepSoon(): void {
    this.jobs.run(async () => {
      try {
        await this.sweep();
      } catch (error) {
        this.logger.warn({ err: error }, 'file sweep failed; retrying at the next one');
      }
      this.extractSoon();
    });
  }

  /** Deletes orphaned files and abandoned uploads; fails documents whose every try died. */
  async sweep(): Promise<number> {
    const ttl = this.config.get('FILE_ORPHAN_TTL');
    const deleted = await this.deleteOrphans(await this.files.findOrphans(ttl, ORPHAN_BATCH));
    for (const blob of await this.files.dropAbandonedUploads(ABANDONED_UPLOAD_MS))
      if (blob.storage !== 'postgres') await this.stores.of(blob).delete(blob);
    await this.files.failAbandonedExtractions(MAX_EXTRACT_ATTEMPTS);
    if (deleted > 0) this.logger.log({ deleted }, 'deleted orphaned files');
    return deleted;
  }

  /**
   * Deletes those of these files no message references (checked on the row, in the delete),
   * then the bytes of blobs no file names any more, in S3 after the rows; returns how many
   * files went. A file attached again meanwhile stays.
   */
  async deleteOrphans(files: { ownerId: string; id: string }[]): Promise<number> {
    let deleted = 0;
    for (const orphan of files) {
      const gone = await this.files.delete(orphan.ownerId, orphan.id, true);
      if (gone?.blob) await this.dropBytes(gone.blob);
      if (gone) deleted++;
    }
    return deleted;
  }

  /** A deleted blob's bytes outside PostgreSQL (file_chunks went with its row). */
  private async dropBytes(blob: StoredBlob): Promise<void> {
    if (blob.storage === 'postgres') return;
    try {
      await this.stores.of(blob).delete(blob);
    } catch (error) {
      this.logger.warn({ err: error, blobId: blob.id }, 'could not delete a blob from S3');
    }
  }

  /** Deletes files older than `seconds` no message references, batch after batch (at most `batches`). */
  async deleteOrphansOlderThan(seconds: number, batches: number): Promise<number> {
    let deleted = 0;
    for (let batch = 0; batch < batches; batch++) {
      const orphans = await this.files.findOrphans(seconds, ORPHAN_BATCH);
      deleted += await this.deleteOrphans(orphans);
      if (orphans.length < ORPHAN_BATCH) break;
    }
    return deleted;
  }

  /** Claims and extracts one document; false when none was waiting. */
  private async extractNext(signal: AbortSignal): Promise<boolean> {
    const timeoutMs = this.config.get('FILE_EXTRACT_TIMEOUT_MS');
    const blob = await this.files.claimExtraction(
      timeoutMs + LEASE_MARGIN_MS,
      MAX_EXTRACT_ATTEMPTS,
    );
    if (!blob) return false;
    await this.extract(blob, timeoutMs, signal);
    return true;
  }

  private async extract(blob: ClaimedBlob, timeoutMs: number, signal: AbortSignal): Promise<void> {
    const content = this.stores.of(blob).read(blob);
    const outcome = await extractInWorker(
      blob.mimeType,
      content,
      {
        timeoutMs,
        memoryMb: this.config.get('FILE_EXTRACT_MEMORY_MB'),
        maxChars: this.config.get('FILE_EXTRACT_MAX_CHARS'),
      },
      signal,
    );
    content.destroy();
    if (!outcome.ok && outcome.code === 'extract_interrupted')
      return this.files.releaseExtraction(blob.id);
    await this.files.finishExtraction(
      blob.id,
      outcome.ok
        ? { text: outcome.text, textTokens: outcome.tokens }
        : { errorCode: outcome.code, errorMessage: outcome.message },
    );
    if (!outcome.ok)
      this.logger.warn({ blobId: blob.id, code: outcome.code }, 'document extraction failed');
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.jobs.stop(new Error('the server is shutting down'));
  }
}
