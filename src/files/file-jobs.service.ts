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
    let deleted = 0;
    for (const orphan of await this.files.findOrphans(ttl, ORPHAN_BATCH)) {
      const gone = await this.files.delete(orphan.ownerId, orphan.id, true);
      if (gone?.blob && gone.blob.storage !== 'postgres')
        await this.stores.of(gone.blob).delete(gone.blob);
      if (gone) deleted++;
    }
    for (const blob of await this.files.dropAbandonedUploads(ABANDONED_UPLOAD_MS))
      if (blob.storage !== 'postgres') await this.stores.of(blob).delete(blob);
    await this.files.failAbandonedExtractions(MAX_EXTRACT_ATTEMPTS);
    if (deleted > 0) this.logger.log({ deleted }, 'deleted orphaned files');
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
