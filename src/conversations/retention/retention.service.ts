import {
  BeforeApplicationShutdown,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';

import { setTimeout } from 'node:timers/promises';

import { AppConfig } from '../../config/app-config';
import { FilesService } from '../../files';
import { MetricsService } from '../../metrics/metrics.service';
import { RetentionRepository } from './retention.repository';

/**
 * A statement deletes up to this many conversations, and no more once this many messages
 * are taken: short transactions, short row locks, a bounded burst of WAL and I/O.
 */
export const RETENTION_BATCH = 500;
export const RETENTION_BATCH_MESSAGES = 5_000;
/**
 * After each batch the sweep waits as long as the batch took, so it never holds more than
 * half of the database's time from turns (measured: bench/results/scale.md).
 */
const PAUSE_RATIO = 1;
/** Batches per sweep; the rest waits for the next sweep so one sweep never runs for long. */
const MAX_BATCHES_PER_SWEEP = 200;
const SECONDS_PER_DAY = 86_400;

/**
 * Deletes conversations (with their messages) inactive for longer than RETENTION_DAYS, on
 * a timer in every replica, and the files they leave unreferenced. Replicas share the work
 * without waiting on each other: each batch locks its rows with SKIP LOCKED, so two sweeps
 * never take the same rows and a conversation a turn is claiming right now is skipped. A
 * conversation with a turn running (a claim held) is never deleted: the condition is
 * re-checked on the locked row.
 */
@Injectable()
export class RetentionService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(RetentionService.name);
  private timer?: NodeJS.Timeout;
  private sweeping?: Promise<number>;

  constructor(
    private readonly retention: RetentionRepository,
    private readonly files: FilesService,
    private readonly metrics: MetricsService,
    private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    const days = this.config.get('RETENTION_DAYS');
    if (days === undefined) return;
    const tick = (): void => {
      this.sweeping ??= this.sweep(days)
        .catch((error: unknown) => {
          this.logger.warn({ err: error }, 'retention sweep failed; retrying at the next one');
          return 0;
        })
        .finally(() => (this.sweeping = undefined));
    };
    this.timer = setInterval(tick, this.config.get('RETENTION_SWEEP_MS'));
    this.timer.unref();
    tick();
  }

  /**
   * Deletes what is past retention, batch after batch, with the files each batch left
   * unreferenced, then files older than the horizon that no message references (bytes in
   * S3 after their rows); returns how many conversations went.
   */
  async sweep(days: number): Promise<number> {
    let total = 0;
    let files = 0;
    for (let batch = 0; batch < MAX_BATCHES_PER_SWEEP; batch++) {
      const started = performance.now();
      const expired = await this.retention.deleteExpired(
        days,
        RETENTION_BATCH,
        RETENTION_BATCH_MESSAGES,
      );
      total += expired.deleted;
      if (expired.deleted > 0) this.metrics.recordRetentionDeleted(expired.deleted);
      files += await this.files.deleteOrphans(expired.files);
      if (expired.deleted === 0 || !this.timer) break;
      await setTimeout((performance.now() - started) * PAUSE_RATIO);
    }
    files += await this.files.deleteOrphansOlderThan(days * SECONDS_PER_DAY, MAX_BATCHES_PER_SWEEP);
    if (total > 0 || files > 0)
      this.logger.log(
        { deleted: total, files, retentionDays: days },
        'deleted inactive conversations',
      );
    return total;
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.sweeping;
  }
}
