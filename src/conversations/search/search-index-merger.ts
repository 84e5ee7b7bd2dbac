import {
  BeforeApplicationShutdown,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';

import { describeDatabaseError } from '../../common/errors/database-errors';
import { AppConfig } from '../../config/app-config';
import { MetricsService } from '../../metrics/metrics.service';
import { SearchIndexRepository } from './search-index.repository';

/** PostgreSQL's insufficient_privilege: the database role does not own the indexes. */
const NOT_OWNER = '42501';

/**
 * Merges the search indexes' pending entries every SEARCH_INDEX_MERGE_MS, in every replica,
 * so a search reads at most that long's worth of new messages from the pending lists and no
 * turn is ever the one that merges 4 MB of them (SearchIndexRepository says why both matter).
 * Replicas need no coordination: a merge waits for one already running, then finds nothing.
 */
@Injectable()
export class SearchIndexMerger implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(SearchIndexMerger.name);
  private timer?: NodeJS.Timeout;
  private merging?: Promise<void>;
  /** Set while merges fail, so a database outage is logged once, not every interval. */
  private failing = false;

  constructor(
    private readonly searchIndex: SearchIndexRepository,
    private readonly metrics: MetricsService,
    private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    const interval = this.config.get('SEARCH_INDEX_MERGE_MS');
    if (interval === 0) return;
    this.timer = setInterval(() => {
      this.merging ??= this.merge();
    }, interval);
    this.timer.unref();
  }

  private async merge(): Promise<void> {
    try {
      const started = performance.now();
      const pages = await this.searchIndex.mergePendingEntries();
      this.metrics.recordSearchIndexMerge(pages, (performance.now() - started) / 1000);
      if (this.failing) this.logger.log('search index merges resumed');
      this.failing = false;
    } catch (error) {
      this.failed(error);
    } finally {
      this.merging = undefined;
    }
  }

  private failed(error: unknown): void {
    if ((error as { code?: unknown } | null | undefined)?.code === NOT_OWNER) {
      clearInterval(this.timer);
      this.logger.error(
        'search index merges stopped: the database role does not own messages_search_idx ' +
          'and messages_owner_search_idx; run the service as their owner (the role that ' +
          'ran the migrations) or set SEARCH_INDEX_MERGE_MS=0 and merge them from elsewhere',
      );
      return;
    }
    if (!this.failing)
      this.logger.warn(
        { reason: describeDatabaseError(error) },
        'search index merge failed; retrying every interval',
      );
    this.failing = true;
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.merging;
  }
}
