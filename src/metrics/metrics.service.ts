import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

import { PrismaService } from '../database/prisma.service';

export interface TurnRecord {
  alias: string;
  outcome: string;
  latencyMs: number;
  ttftMs: number | null;
  promptTokens: number;
  completionTokens: number;
}

export interface WebSocketStats {
  connections: number;
  bufferedBytes: number;
}

export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
}

/** The service's Prometheus metrics, on a registry of its own (one per app instance). */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  private readonly httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by method, route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  private readonly turns = new Counter({
    name: 'chat_turns_total',
    help: 'Chat turns by model alias and outcome (complete or an error code)',
    labelNames: ['alias', 'outcome'],
    registers: [this.registry],
  });

  private readonly turnLatency = new Histogram({
    name: 'chat_turn_latency_seconds',
    help: 'Time from the provider call to the stored reply',
    labelNames: ['alias'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300],
    registers: [this.registry],
  });

  private readonly ttft = new Histogram({
    name: 'chat_time_to_first_token_seconds',
    help: 'Time from the provider call to the first reply token',
    labelNames: ['alias'],
    buckets: [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
    registers: [this.registry],
  });

  private readonly tokens = new Counter({
    name: 'chat_tokens_total',
    help: 'Tokens by model alias and kind (prompt, completion)',
    labelNames: ['alias', 'kind'],
    registers: [this.registry],
  });

  private readonly providerErrors = new Counter({
    name: 'llm_provider_errors_total',
    help: 'Provider failures by provider and error code',
    labelNames: ['provider', 'code'],
    registers: [this.registry],
  });

  private readonly cacheLookups = new Counter({
    name: 'response_cache_lookups_total',
    help: 'Response cache lookups of deterministic stateless requests, by result (hit, miss)',
    labelNames: ['result'],
    registers: [this.registry],
  });

  private readonly runInteractionsDropped = new Counter({
    name: 'run_interactions_dropped_total',
    help: 'Provider-call lines of the run telemetry (RUNS_DIR) dropped because the disk fell behind',
    registers: [this.registry],
  });

  private readonly titles = new Counter({
    name: 'conversation_titles_total',
    help: 'Title calls by outcome: written, kept (a user title won the race), or the failure code',
    labelNames: ['outcome'],
    registers: [this.registry],
  });

  private readonly feedback = new Counter({
    name: 'message_feedback_total',
    help: 'Ratings given to replies, by the model alias that wrote the reply and the rating',
    labelNames: ['alias', 'rating'],
    registers: [this.registry],
  });

  private readonly retention = new Counter({
    name: 'conversations_retention_deleted_total',
    help: 'Conversations deleted for being inactive longer than RETENTION_DAYS',
    registers: [this.registry],
  });

  private readonly searchIndexMerges = new Histogram({
    name: 'search_index_merge_seconds',
    help:
      'Merges of the search indexes’ pending entries (SEARCH_INDEX_MERGE_MS): one taking ' +
      'near the interval means messages arrive faster than one merge an interval keeps up with',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  private readonly searchIndexMergedPages = new Counter({
    name: 'search_index_merged_pages_total',
    help: 'Pending-list pages merged into the search indexes by this process',
    registers: [this.registry],
  });

  private readonly summaryJobs = new Counter({
    name: 'memory_summary_jobs_total',
    help: 'Summary jobs by outcome (stored, failed, busy: another job held the conversation)',
    labelNames: ['outcome'],
    registers: [this.registry],
  });

  private readonly summarizedMessages = new Counter({
    name: 'memory_summarized_messages_total',
    help: 'Messages folded into conversation summaries',
    registers: [this.registry],
  });

  private readonly toolCalls = new Counter({
    name: 'tool_calls_total',
    help:
      'Server tool (MCP) calls by server and outcome: ok, error, timeout, cancelled, ' +
      'unavailable, bad_arguments, unknown_tool',
    labelNames: ['server', 'outcome'],
    registers: [this.registry],
  });

  private readonly toolDuration = new Histogram({
    name: 'tool_call_duration_seconds',
    help: 'Server tool (MCP) call duration, round trip included, by server',
    labelNames: ['server'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });

  constructor(prisma: PrismaService) {
    collectDefaultMetrics({ register: this.registry });
    // Both series exist from the start, so a rate over them is defined before the first lookup.
    for (const result of ['hit', 'miss']) this.cacheLookups.inc({ result }, 0);
    for (const outcome of ['stored', 'failed', 'busy']) this.summaryJobs.inc({ outcome }, 0);
    this.watchPool(() => ({
      total: prisma.pool.totalCount,
      idle: prisma.pool.idleCount,
      waiting: prisma.pool.waitingCount,
    }));
  }

  /** Read on each scrape. */
  watchActiveGenerations(count: () => number): void {
    new Gauge({
      name: 'chat_active_generations',
      help: 'Replies being generated in this process',
      registers: [this.registry],
      collect() {
        this.set(count());
      },
    });
  }

  /** Read on each scrape. */
  watchWebSockets(stats: () => WebSocketStats): void {
    new Gauge({
      name: 'ws_connections',
      help: 'Open WebSocket connections',
      registers: [this.registry],
      collect() {
        this.set(stats().connections);
      },
    });
    new Gauge({
      name: 'ws_buffered_bytes',
      help: 'Bytes queued for WebSocket clients and not yet sent, summed over connections',
      registers: [this.registry],
      collect() {
        this.set(stats().bufferedBytes);
      },
    });
  }

  /** Read on each scrape: 1 while a provider's circuit is open (cooling down), else 0. */
  watchProviderCircuits(circuits: () => { provider: string; state: string }[]): void {
    new Gauge({
      name: 'llm_provider_circuit_open',
      help: 'Whether a provider is cooling down after consecutive failures (1) or called (0)',
      labelNames: ['provider'],
      registers: [this.registry],
      collect() {
        for (const { provider, state } of circuits())
          this.set({ provider }, state === 'open' ? 1 : 0);
      },
    });
  }

  /** Read on each scrape: 1 while an MCP server is connected and its tools listed, else 0. */
  watchToolServers(servers: () => { server: string; ready: boolean }[]): void {
    new Gauge({
      name: 'mcp_server_ready',
      help: 'Whether an MCP server of MCP_SERVERS_FILE is connected with its tools listed (1) or not (0)',
      labelNames: ['server'],
      registers: [this.registry],
      collect() {
        for (const { server, ready } of servers()) this.set({ server }, ready ? 1 : 0);
      },
    });
  }

  /** Read on each scrape. */
  watchPool(stats: () => PoolStats): void {
    new Gauge({
      name: 'db_pool_connections',
      help: 'Database pool connections by state (total, idle, waiting requests)',
      labelNames: ['state'],
      registers: [this.registry],
      collect() {
        const pool = stats();
        this.set({ state: 'total' }, pool.total);
        this.set({ state: 'idle' }, pool.idle);
        this.set({ state: 'waiting' }, pool.waiting);
      },
    });
  }

  observeRequest(method: string, route: string, status: number, seconds: number): void {
    this.httpDuration.observe({ method, route, status: String(status) }, seconds);
  }

  recordTurn(turn: TurnRecord): void {
    this.turns.inc({ alias: turn.alias, outcome: turn.outcome });
    this.turnLatency.observe({ alias: turn.alias }, turn.latencyMs / 1000);
    if (turn.ttftMs !== null) this.ttft.observe({ alias: turn.alias }, turn.ttftMs / 1000);
    this.tokens.inc({ alias: turn.alias, kind: 'prompt' }, turn.promptTokens);
    this.tokens.inc({ alias: turn.alias, kind: 'completion' }, turn.completionTokens);
  }

  recordCacheLookup(result: 'hit' | 'miss'): void {
    this.cacheLookups.inc({ result });
  }

  recordRunInteractionDropped(): void {
    this.runInteractionsDropped.inc();
  }

  recordTitle(outcome: string): void {
    this.titles.inc({ outcome });
  }

  recordFeedback(alias: string, rating: string): void {
    this.feedback.inc({ alias, rating });
  }

  recordRetentionDeleted(count: number): void {
    this.retention.inc(count);
  }

  recordSearchIndexMerge(pages: number, seconds: number): void {
    this.searchIndexMerges.observe(seconds);
    this.searchIndexMergedPages.inc(pages);
  }

  recordProviderError(provider: string, code: string): void {
    this.providerErrors.inc({ provider, code });
  }

  recordToolCall(server: string, outcome: string, seconds: number): void {
    this.toolCalls.inc({ server, outcome });
    this.toolDuration.observe({ server }, seconds);
  }

  recordSummaryJob(outcome: 'stored' | 'failed' | 'busy', messages = 0): void {
    this.summaryJobs.inc({ outcome });
    if (messages > 0) this.summarizedMessages.inc(messages);
  }
}
