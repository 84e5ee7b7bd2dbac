import { createHash } from 'node:crypto';

import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';

import { AppConfig } from '../config/app-config';
import { MetricsService } from '../metrics/metrics.service';
import type { CompletionReply } from './openai.mapper';
import { ResponseCacheRepository } from './response-cache.repository';

const SWEEP_MAX_INTERVAL_MS = 60_000;

/**
 * Replies of deterministic stateless requests, in PostgreSQL so every replica shares them.
 * A cache failure never fails a request: a lookup that errs is a miss, a store that errs is
 * skipped, both logged.
 */
@Injectable()
export class ResponseCache implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(ResponseCache.name);
  private readonly ttlS: number;
  private readonly maxEntries: number;
  private sweeper?: NodeJS.Timeout;

  constructor(
    private readonly repository: ResponseCacheRepository,
    private readonly metrics: MetricsService,
    config: AppConfig,
  ) {
    this.ttlS = config.get('RESPONSE_CACHE_TTL_S');
    this.maxEntries = config.get('RESPONSE_CACHE_MAX_ENTRIES');
  }

  get enabled(): boolean {
    return this.ttlS > 0;
  }

  /** Sweeps once per TTL (at most a minute apart), so expired rows never pile up for long. */
  onModuleInit(): void {
    if (!this.enabled) return;
    const interval = Math.min(this.ttlS * 1000, SWEEP_MAX_INTERVAL_MS);
    this.sweeper = setInterval(() => void this.sweep(), interval);
    this.sweeper.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.sweeper);
  }

  /** The key of a request's material (see cacheKeyMaterial): a hash, so rows hold no prompt text. */
  keyOf(material: string): string {
    return createHash('sha256').update(material, 'utf8').digest('hex');
  }

  async get(key: string): Promise<CompletionReply | undefined> {
    let reply: CompletionReply | undefined;
    try {
      reply = (await this.repository.findLive(key)) as CompletionReply | undefined;
    } catch (error) {
      this.logger.warn({ err: error }, 'response cache lookup failed; calling the provider');
    }
    this.metrics.recordCacheLookup(reply ? 'hit' : 'miss');
    return reply;
  }

  async put(key: string, reply: CompletionReply): Promise<void> {
    try {
      await this.repository.store(key, reply, this.ttlS, this.maxEntries);
    } catch (error) {
      this.logger.warn({ err: error }, 'could not store a reply in the response cache');
    }
  }

  /** Deletes expired entries; returns how many. */
  async sweep(): Promise<number> {
    try {
      return await this.repository.deleteExpired();
    } catch (error) {
      this.logger.warn({ err: error }, 'response cache sweep failed');
      return 0;
    }
  }
}
