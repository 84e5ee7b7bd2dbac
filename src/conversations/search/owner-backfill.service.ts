import {
  BeforeApplicationShutdown,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';

import { AppConfig } from '../../config/app-config';
import { OwnerBackfillRepository } from './owner-backfill.repository';
import { SearchIndexRepository } from './search-index.repository';

/** A batch: up to this many conversations, and no more once this many messages are filled. */
export const BACKFILL_CONVERSATIONS = 200;
export const BACKFILL_MESSAGES = 2_000;
/** Between batches, so the backfill takes a bounded share of the database from turns. */
const PAUSE_MS = 20;
/** When another process holds the backfill, look again this much later. */
const RETRY_MS = 60_000;

/**
 * Fills messages.owner_id on rows stored before it existed (the migration adds it empty),
 * in bounded batches from start-up until done; search uses the owner index only then.
 * Every replica runs it; a batch locks the backfill's row with SKIP LOCKED, so one process
 * fills at a time and the others look again later.
 */
@Injectable()
export class OwnerBackfillService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(OwnerBackfillService.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;

  constructor(
    private readonly backfill: OwnerBackfillRepository,
    private readonly searchIndex: SearchIndexRepository,
    private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.get('OWNER_BACKFILL') === 'on') this.schedule(0);
  }

  private schedule(ms: number | undefined): void {
    if (this.stopped || ms === undefined) return;
    this.timer = setTimeout(() => {
      this.running = this.step()
        .then((next) => this.schedule(next))
        .catch((error: unknown) => {
          this.logger.warn({ err: error }, 'owner_id backfill batch failed; retrying');
          this.schedule(RETRY_MS);
        });
    }, ms);
    this.timer.unref();
  }

  /** One batch; returns the wait before the next, or undefined when there is nothing left. */
  private async step(): Promise<number | undefined> {
    const batch = await this.backfill.fillBatch(BACKFILL_CONVERSATIONS, BACKFILL_MESSAGES);
    // A filled row is a new row version: its entries go to the search indexes' pending lists,
    // 2,000 rows a batch, faster than the merger's interval empties them.
    if (batch.messages > 0) await this.searchIndex.mergePendingEntries();
    if (batch.done) this.logger.log('messages.owner_id backfill done');
    if (batch.done || (!batch.claimed && (await this.backfill.isDone()))) return undefined;
    return batch.claimed ? PAUSE_MS : RETRY_MS;
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}
