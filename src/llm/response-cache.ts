import { createHash } from 'node:crypto';

import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';

import { AppConfig } from '../config/app-config';
import { MetricsService } from '../metrics/metrics.service';
import type {
  ChatImage,
  ChatMessage,
  GenerationParams,
  ResponseFormat,
  ToolCall,
  ToolChoice,
  ToolDefinition,
} from './llm.types';
import { ResponseCacheRepository } from './response-cache.repository';

const SWEEP_MAX_INTERVAL_MS = 60_000;

/** A reply as the cache keeps it, for /v1 and turns alike. */
export interface CachedReply {
  content: string;
  reasoning: string | null;
  finishReason: string | null;
  usage: { promptTokens: number; completionTokens: number; estimated: boolean };
  /** The model that wrote it; absent from entries /v1 stored. */
  upstreamModel?: string | null;
  /**
   * The tools it called. Replies with tool calls are cached like text ones: the same
   * deterministic request (tools and choice included in the key) may get the same calls,
   * and the cache only replays what the model asked for, it never runs a tool. An agent
   * loop at temperature 0 repeating a first step is served without a provider call.
   */
  toolCalls?: ToolCall[];
}

/** What decides a reply: the alias, the whole prompt and everything sent with it. */
export interface CacheableRequest {
  alias: string;
  messages: ChatMessage[];
  params: GenerationParams;
  responseFormat?: ResponseFormat;
  stop?: string[];
  tools?: ToolDefinition[];
  toolChoice?: ToolChoice;
  parallelToolCalls?: boolean;
}

/** Temperature 0 or a seed: the same request may be answered with the same reply. */
export function isDeterministic(params: GenerationParams): boolean {
  return params.temperature === 0 || params.seed !== undefined;
}

function imageDigest(image: ChatImage): string {
  if (image.sha256) return `${image.mimeType}:${image.sha256}`;
  const bytes = typeof image.data === 'string' ? Buffer.from(image.data, 'base64') : image.data;
  return `${image.mimeType}:${createHash('sha256').update(bytes).digest('hex')}`;
}

/**
 * Everything that decides the reply, in a fixed order, for the cache key; the owner first,
 * so no two owners ever share an entry. The version changes when CachedReply does.
 */
export function cacheKeyMaterial(owner: string, input: CacheableRequest): string {
  const { temperature, topP, maxTokens, seed, frequencyPenalty, presencePenalty } = input.params;
  return JSON.stringify([
    'v2',
    owner,
    input.alias,
    // A tool call or result is part of the prompt as much as text is; images by their hash.
    input.messages.map((m) => [
      m.role,
      m.content,
      m.toolCalls ?? null,
      m.toolCallId ?? null,
      ...(m.images?.length ? [m.images.map(imageDigest)] : []),
    ]),
    [temperature ?? null, topP ?? null, maxTokens ?? null, seed ?? null],
    [frequencyPenalty ?? null, presencePenalty ?? null],
    input.stop ?? null,
    input.responseFormat ?? null,
    input.tools?.length ? input.tools : null,
    input.tools?.length ? [input.toolChoice ?? null, input.parallelToolCalls ?? null] : null,
  ]);
}

/**
 * Replies of deterministic requests (/v1, and turns), in PostgreSQL so every replica shares them.
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

  async get(key: string): Promise<CachedReply | undefined> {
    let reply: CachedReply | undefined;
    try {
      reply = (await this.repository.findLive(key)) as CachedReply | undefined;
    } catch (error) {
      this.logger.warn({ err: error }, 'response cache lookup failed; calling the provider');
    }
    this.metrics.recordCacheLookup(reply ? 'hit' : 'miss');
    return reply;
  }

  async put(key: string, reply: CachedReply): Promise<void> {
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
