import { Inject, Injectable, Logger } from '@nestjs/common';

import { AppException } from '../common/errors/app.exception';
import { sleep } from '../common/sleep';
import { storableText, StorableTextStream } from '../common/text/storable-text';
import { AppConfig } from '../config/app-config';
import { MetricsService } from '../metrics/metrics.service';
import { CircuitBreaker, CircuitState } from './circuit-breaker';
import { LlmException, ProviderCoolingDownException, UnknownModelException } from './llm.errors';
import {
  ChatMessage,
  GenerationParams,
  LLM_PROVIDERS,
  LlmChunk,
  LlmDone,
  LlmProvider,
  LlmRequest,
  ResponseFormat,
  ToolCall,
  ToolChoice,
  ToolDefinition,
  TriedAlias,
} from './llm.types';
import { ModelAlias, ModelRegistry } from './model-registry';
import { pulledChunks } from './pulled-chunks';
import { nextRetryDelay } from './retry-policy';
import { RunTelemetry } from './telemetry/run-telemetry.service';

export interface ResolvedModel extends ModelAlias {
  providerLabel: string;
}

export interface GenerateRequest {
  model: ResolvedModel;
  messages: ChatMessage[];
  params: GenerationParams;
  responseFormat?: ResponseFormat;
  stop?: string[];
  /** Tools the model may call (see LlmRequest); the alias must be capable (assertCapable). */
  tools?: ToolDefinition[];
  toolChoice?: ToolChoice;
  parallelToolCalls?: boolean;
  /** `complete` asks for the whole reply at once, `stream` for chunks as they come. */
  mode: 'complete' | 'stream';
  /** Aborting it ends the request upstream; its reason is what `generate` throws. */
  signal: AbortSignal;
  /** The client request this call serves, for its log lines (none for background work). */
  correlationId?: string;
  /** Told of each alias given up for the next of its fallbacks, before that one is tried. */
  onFallback?: (tried: TriedAlias) => void;
}

/** What `deliver` hands on: the provider's chunks, the last one naming the alias that answered. */
export type GenerateChunk = Exclude<LlmChunk, LlmDone> | (LlmDone & { alias: string });

export interface ModelAvailability {
  alias: ModelAlias;
  providerLabel: string;
  available: boolean;
  reason: string | null;
}

export interface ProviderHealth {
  name: string;
  label: string;
  baseUrl: string;
  status: 'up' | 'down' | 'configured' | 'not_configured';
  latencyMs: number | null;
  reason: string | null;
  /** What a probed server lists; null when not asked. */
  models: string[] | null;
  /** Its circuit breaker: open while it cools down after consecutive failures. */
  circuit: CircuitState;
}

/** What a request needs of an alias beyond text (see LlmService.assertCapable). */
export interface CapabilityNeeds {
  /** The request offers tools. */
  tools?: boolean;
  /** The prompt shows images: only aliases with `vision: true` take them. */
  images?: boolean;
  responseFormat?: ResponseFormat;
}

/** Why an upstream call was ended by REPLY_MAX_CHARS: the reply ends as `length`, not failed. */
const REPLY_CAPPED = new Error('the reply reached REPLY_MAX_CHARS');

/** How long a server's model list is trusted before it is asked again. */
const MODEL_LIST_TTL_MS = 30_000;
const MODELS_NAMED = 20;
const PROBE_TIMEOUT_MS = 2000;

/**
 * Calls `onIdle` once `ms` pass without a touch. A touch only notes the time (it comes
 * with every streamed chunk); the timer re-arms itself for what is left when it fires early.
 */
function idleTimer(ms: number, onIdle: () => void): { touch(): void; clear(): void } {
  let lastTouch = performance.now();
  const check = (): void => {
    const quietMs = performance.now() - lastTouch;
    if (quietMs >= ms) onIdle();
    else timer = setTimeout(check, ms - quietMs);
  };
  let timer = setTimeout(check, ms);
  return {
    touch: () => {
      lastTouch = performance.now();
    },
    clear: () => clearTimeout(timer),
  };
}

/** Any output at all: text, or a piece of a tool call. After one, nothing is retried. */
const isOutput = (chunk: LlmChunk): boolean => chunk.type === 'delta' || chunk.type === 'tool_call';

/** What the alias lacks for the request, as an error code and the capability's name. */
function missingCapability(
  alias: ModelAlias,
  needs: CapabilityNeeds,
): {
  code: 'tools_not_supported' | 'response_format_not_supported' | 'vision_not_supported';
  flag: 'tools' | 'jsonSchema' | 'vision';
} | null {
  // Unlike tools, sight is never assumed: a text model sent an image fails in its own words.
  if (needs.images && alias.vision !== true)
    return { code: 'vision_not_supported', flag: 'vision' };
  if (needs.tools && alias.tools === false) return { code: 'tools_not_supported', flag: 'tools' };
  if (needs.responseFormat?.type === 'json_schema' && alias.jsonSchema === false)
    return { code: 'response_format_not_supported', flag: 'jsonSchema' };
  return null;
}

/** Calls whose arguments can be stored as PostgreSQL text (see storableText). */
function storableCalls(calls: ToolCall[]): ToolCall[] {
  return calls.map((call) => ({ ...call, arguments: storableText(call.arguments) }));
}

function transient(error: LlmException): boolean {
  return error.retry.retryable || error.llmCode === 'provider_timeout';
}

/** Connection errors, 5xx, 429, timeouts and a cooling provider move on to the next alias. */
function fallsBack(error: unknown): error is LlmException {
  return (
    error instanceof ProviderCoolingDownException ||
    (error instanceof LlmException && transient(error))
  );
}

/** An alias names a model the server does not have: say which it has and how to pick one. */
function notListed(provider: LlmProvider, model: string, ids: string[]): string {
  const named = ids.slice(0, MODELS_NAMED).join(', ') + (ids.length > MODELS_NAMED ? ', …' : '');
  const has = ids.length > 0 ? `it lists: ${named}` : 'it lists none';
  const hint = provider.modelHint ? `; ${provider.modelHint}` : '';
  return `${provider.label} at ${provider.baseUrl} does not list model "${model}"; ${has}${hint}`;
}

/** Dispatches generations to provider adapters with retries, timeouts and model resolution. */
@Injectable()
export class LlmService {
  private readonly logger = new Logger(LlmService.name);
  private readonly providers: Map<string, LlmProvider>;
  private readonly listed = new Map<string, { ids: string[]; expires: number }>();
  private readonly breakers: Map<string, CircuitBreaker>;

  constructor(
    readonly registry: ModelRegistry,
    @Inject(LLM_PROVIDERS) providers: LlmProvider[],
    private readonly config: AppConfig,
    metrics: MetricsService,
    private readonly telemetry: RunTelemetry,
  ) {
    this.providers = new Map(providers.map((p) => [p.name, p]));
    const options = {
      failuresToOpen: config.get('PROVIDER_FAILURES_TO_OPEN'),
      cooldownMs: config.get('PROVIDER_COOLDOWN_MS'),
    };
    this.breakers = new Map(providers.map((p) => [p.name, new CircuitBreaker(options)]));
    metrics.watchProviderCircuits(() =>
      [...this.breakers].map(([provider, breaker]) => ({ provider, state: breaker.state })),
    );
  }

  /** The alias's definition; throws 400 unknown_model for an alias nobody defined. */
  resolve(alias: string | null | undefined): ResolvedModel {
    const name = alias ?? this.registry.defaultAlias;
    const found = this.registry.find(name);
    if (!found) throw new UnknownModelException(name);
    return { ...found, providerLabel: this.provider(found.provider).label };
  }

  /**
   * Refuses, with a 400 naming the alias and those that can, a request the alias cannot
   * honour: tools offered to a `tools: false` alias (tools_not_supported), a `json_schema`
   * reply asked of a `jsonSchema: false` one (response_format_not_supported). An alias that
   * says nothing is taken as capable: the provider has the last word. `deliver` checks it
   * too; a door calls it first to refuse before it stores or claims anything.
   */
  assertCapable(alias: string | ModelAlias, needs: CapabilityNeeds): void {
    const model = typeof alias === 'string' ? this.resolve(alias) : alias;
    const missing = missingCapability(model, needs);
    if (!missing) return;
    const able = this.registry
      .all()
      .filter((other) => missingCapability(other, needs) === null)
      .map((other) => other.alias);
    const some = able.slice(0, MODELS_NAMED).join(', ') + (able.length > MODELS_NAMED ? ', …' : '');
    const what = {
      tools: 'calling tools',
      jsonSchema: 'a json_schema response_format (structured output)',
      vision: 'images',
    }[missing.flag];
    const flagged = missing.flag === 'vision' ? 'vision: true is not' : `${missing.flag}: false`;
    const alternatives = able.length > 0 ? `aliases that can: ${some}` : 'no configured alias can';
    throw new AppException(
      missing.code,
      `Model alias "${model.alias}" does not support ${what} (${flagged} in its ` +
        `definition); ${alternatives}`,
    );
  }

  isKnown(alias: string): boolean {
    return this.registry.find(alias) !== undefined;
  }

  /** Whether the alias's provider is configured (a key, a base URL): cheap, no request. */
  isConfigured(alias: string): boolean {
    const found = this.registry.find(alias);
    return found !== undefined && this.provider(found.provider).configured;
  }

  /**
   * The upstream model id: the alias's, checked against what a local server lists, or the
   * server's first model when the alias names none.
   */
  async upstreamModel(model: ResolvedModel, signal: AbortSignal): Promise<string> {
    const provider = this.provider(model.provider);
    if (model.model && !provider.probe) return model.model;
    let ids: string[];
    try {
      ids = await this.listedModels(provider, signal);
    } catch (error) {
      // A server that is down or slow is left to the call itself, which retries.
      if (model.model && error instanceof LlmException && transient(error)) return model.model;
      throw error;
    }
    if (!model.model) {
      if (ids[0]) return ids[0];
      throw new LlmException(
        'provider_model_not_found',
        `${provider.label} at ${provider.baseUrl} has no model loaded; ${provider.noModelHint}`,
      );
    }
    // A model loaded since the list was cached counts.
    if (!ids.includes(model.model)) ids = await this.listedModels(provider, signal, true);
    if (!ids.includes(model.model))
      throw new LlmException('provider_model_not_found', notListed(provider, model.model, ids));
    return model.model;
  }

  private async listedModels(
    provider: LlmProvider,
    signal: AbortSignal,
    fresh = false,
    timeoutMs?: number,
  ): Promise<string[]> {
    const cached = this.listed.get(provider.name);
    if (!fresh && cached && cached.expires > Date.now()) return cached.ids;
    const ids = await this.withTimeout(signal, (s) => provider.listModels(s), provider, timeoutMs);
    this.listed.set(provider.name, { ids, expires: Date.now() + MODEL_LIST_TTL_MS });
    return ids;
  }

  /**
   * Hands the reply's chunks to `onChunk` in the tick each arrives (no promise hop per chunk
   * between the provider and the caller). Failures before the first chunk are retried with
   * backoff, then the alias's fallbacks are tried in order; after the first chunk they
   * surface, since a retry would repeat text the caller already has.
   */
  async deliver(request: GenerateRequest, onChunk: (chunk: GenerateChunk) => void): Promise<void> {
    const needs = {
      tools: (request.tools?.length ?? 0) > 0,
      images: request.messages.some((m) => (m.images?.length ?? 0) > 0),
      responseFormat: request.responseFormat,
    };
    this.assertCapable(request.model, needs);
    // A fallback that cannot honour the request is no fallback for it.
    const chain = [
      request.model,
      ...request.model.fallbacks
        .map((alias) => this.resolve(alias))
        .filter((model) => missingCapability(model, needs) === null),
    ];
    for (const [index, model] of chain.entries()) {
      let started = false;
      try {
        return await this.deliverRecorded(model, request, (chunk) => {
          started ||= isOutput(chunk);
          onChunk(chunk.type === 'done' ? { ...chunk, alias: model.alias } : chunk);
        });
      } catch (error) {
        const next = chain[index + 1];
        if (started || !next || request.signal.aborted || !fallsBack(error)) throw error;
        const tried = { alias: model.alias, errorCode: error.code };
        this.logger.warn(
          { correlationId: request.correlationId, ...tried, next: next.alias },
          'falling back to the next alias',
        );
        request.onFallback?.(tried);
      }
    }
    throw new Error('unreachable: the last alias of a chain throws its own error');
  }

  /** One alias's call, written to the run telemetry (RUNS_DIR) as it ends, however it ends. */
  private async deliverRecorded(
    model: ResolvedModel,
    request: GenerateRequest,
    onChunk: (chunk: LlmChunk) => void,
  ): Promise<void> {
    if (!this.telemetry.enabled) return this.deliverFrom(model, request, onChunk);
    const startedAt = performance.now();
    // Copied now: a turn empties its prompt array once the first chunk has come.
    const messages = this.telemetry.withMessages
      ? request.messages.map((message) => ({ ...message }))
      : undefined;
    let ttftMs: number | null = null;
    let done: LlmDone | null = null;
    let reply = '';
    const withMessages = messages !== undefined;
    const record = (error: unknown): void => {
      const cancelled = error !== null && request.signal.aborted;
      this.telemetry.record({
        time: new Date().toISOString(),
        correlationId: request.correlationId ?? null,
        alias: model.alias,
        provider: model.provider,
        upstreamModel: done?.upstreamModel ?? model.model,
        mode: request.mode,
        latencyMs: Math.round(performance.now() - startedAt),
        ttftMs,
        usage: done?.usage ?? null,
        finishReason: done?.finishReason ?? null,
        toolsOffered: request.tools?.length ?? 0,
        // Names always; arguments are the user's data, written only with LOG_MESSAGES.
        toolCalls: (done?.toolCalls ?? []).map((call: ToolCall) =>
          withMessages ? call : { id: call.id, name: call.name },
        ),
        outcome: error === null ? 'complete' : cancelled ? 'cancelled' : 'failed',
        errorCode:
          error instanceof AppException ? error.code : error === null ? null : 'internal_error',
        ...(messages && { messages, reply }),
      });
    };
    try {
      await this.deliverFrom(model, request, (chunk) => {
        if (isOutput(chunk)) ttftMs ??= Math.round(performance.now() - startedAt);
        if (chunk.type === 'delta' && messages) reply += chunk.text;
        else if (chunk.type === 'done') done = chunk;
        onChunk(chunk);
      });
    } catch (error) {
      record(error);
      throw error;
    }
    record(null);
  }

  /**
   * One alias through its provider's breaker: a call (its retries included) that fails the
   * way a provider in trouble fails counts against it; one that gets any answer resets it.
   */
  private async deliverFrom(
    model: ResolvedModel,
    request: GenerateRequest,
    onChunk: (chunk: LlmChunk) => void,
  ): Promise<void> {
    const provider = this.provider(model.provider);
    const breaker = this.breakers.get(provider.name)!;
    if (!breaker.tryAcquire()) throw this.coolingDown(provider, breaker);
    try {
      await this.attempts(provider, model, request, onChunk);
      breaker.succeeded();
    } catch (error) {
      if (request.signal.aborted) breaker.released();
      else if (error instanceof LlmException && transient(error)) breaker.failed();
      else breaker.succeeded();
      throw error;
    }
  }

  /** One alias: attempts with retries and backoff, each with the idle timeout. */
  private async attempts(
    provider: LlmProvider,
    model: ResolvedModel,
    request: GenerateRequest,
    onChunk: (chunk: LlmChunk) => void,
  ): Promise<void> {
    const upstreamModel = await this.upstreamModel(model, request.signal);
    const timeoutMs = this.config.get('LLM_TIMEOUT_MS');
    const cap = this.cap(upstreamModel, onChunk);
    for (let attempt = 0; ; attempt++) {
      const attemptAbort = new AbortController();
      const onOuterAbort = (): void => attemptAbort.abort(request.signal.reason);
      request.signal.addEventListener('abort', onOuterAbort, { once: true });
      // Streams time out when idle, so a long but lively reply is never cut.
      const idle = idleTimer(timeoutMs, () =>
        attemptAbort.abort(
          new LlmException(
            'provider_timeout',
            `${provider.label} at ${provider.baseUrl} sent nothing for ${timeoutMs} ms; raise LLM_TIMEOUT_MS for slow models`,
          ),
        ),
      );
      let started = false;
      try {
        const llmRequest = {
          model: upstreamModel,
          messages: request.messages,
          params: request.params,
          responseFormat: request.responseFormat,
          stop: request.stop,
          tools: request.tools,
          toolChoice: request.toolChoice,
          parallelToolCalls: request.parallelToolCalls,
          signal: attemptAbort.signal,
        };
        return await this.attempt(provider, request.mode, llmRequest, (chunk) => {
          idle.touch();
          started ||= isOutput(chunk);
          if (cap.push(chunk)) attemptAbort.abort(REPLY_CAPPED);
        });
      } catch (error) {
        if (cap.reached) return;
        if (request.signal.aborted) throw request.signal.reason;
        const delay = started
          ? undefined
          : nextRetryDelay(error, attempt, { maxRetries: this.config.get('LLM_MAX_RETRIES') });
        if (delay === undefined) throw error;
        const code = (error as LlmException).code;
        const line = { correlationId: request.correlationId, provider: provider.name, code };
        this.logger.warn(
          { ...line, attempt: attempt + 1, delayMs: delay },
          'retrying provider call',
        );
        await sleep(delay, request.signal);
      } finally {
        idle.clear();
        request.signal.removeEventListener('abort', onOuterAbort);
      }
    }
  }

  /**
   * Passes chunks on until the reply holds REPLY_MAX_CHARS characters; there it cuts the
   * text, ends the reply as `length` and says so (`push` returns true) so the caller ends
   * the upstream call. Whatever comes after is dropped.
   */
  private cap(
    upstreamModel: string,
    onChunk: (chunk: LlmChunk) => void,
  ): { push(chunk: LlmChunk): boolean; reached: boolean } {
    let left = this.config.get('REPLY_MAX_CHARS');
    const state = {
      reached: false,
      push: (chunk: LlmChunk): boolean => {
        if (state.reached) return false;
        if (chunk.type !== 'delta' || chunk.text.length <= left) {
          if (chunk.type === 'delta') left -= chunk.text.length;
          onChunk(chunk);
          return false;
        }
        // Cut between the halves of a surrogate pair, the text would not be storable.
        const cut = storableText(chunk.text.slice(0, left));
        if (cut) onChunk({ type: 'delta', text: cut });
        onChunk({ type: 'done', upstreamModel, finishReason: 'length', usage: null });
        state.reached = true;
        return true;
      },
    };
    return state;
  }

  private coolingDown(provider: LlmProvider, breaker: CircuitBreaker): LlmException {
    return new ProviderCoolingDownException(
      `${provider.label} at ${provider.baseUrl} failed ${breaker.consecutiveFailures} times in a row ` +
        `and is left alone for ${Math.ceil(breaker.retryInMs / 1000)} s more (PROVIDER_COOLDOWN_MS)`,
    );
  }

  /** The same chunks as an async iterable (see `deliver`), for callers that read them in a loop. */
  generate(request: GenerateRequest): AsyncIterable<GenerateChunk> {
    return pulledChunks(
      (signal, onChunk) => this.deliver({ ...request, signal }, onChunk),
      request.signal,
    );
  }

  /**
   * One call to the provider, whole or streamed, as chunks either way. The text is made
   * storable here, where it enters, so no consumer (turns, titles, summaries, /v1) keeps
   * text that its writes would fail on.
   */
  private async attempt(
    provider: LlmProvider,
    mode: GenerateRequest['mode'],
    request: LlmRequest,
    onChunk: (chunk: LlmChunk) => void,
  ): Promise<void> {
    if (mode === 'stream') {
      const storable = new StorableTextStream();
      // Each call's arguments are text that may be stored, in pieces of their own.
      const callText = new Map<number, StorableTextStream>();
      return provider.stream(request, (chunk) => {
        if (chunk.type === 'tool_call') {
          let args = callText.get(chunk.index);
          if (!args) callText.set(chunk.index, (args = new StorableTextStream()));
          return onChunk({ ...chunk, arguments: args.push(chunk.arguments) });
        }
        if (chunk.type === 'done')
          return onChunk(
            chunk.toolCalls ? { ...chunk, toolCalls: storableCalls(chunk.toolCalls) } : chunk,
          );
        const text = storable.push(chunk.text);
        if (text) onChunk({ type: 'delta', text });
      });
    }
    const result = await provider.complete(request);
    const { content, upstreamModel, finishReason, usage } = result;
    const toolCalls = result.toolCalls && storableCalls(result.toolCalls);
    onChunk({ type: 'delta', text: storableText(content) });
    // Whole calls as one piece each, so a reader of chunks sees the same either way.
    for (const [index, call] of (toolCalls ?? []).entries())
      onChunk({
        type: 'tool_call',
        index,
        id: call.id,
        name: call.name,
        arguments: call.arguments,
      });
    onChunk({
      type: 'done',
      upstreamModel,
      finishReason,
      usage,
      ...(toolCalls?.length && { toolCalls }),
    });
  }

  /** Each provider: configured, reachable (local servers are probed), how fast it answered. */
  async providerHealth(): Promise<ProviderHealth[]> {
    return Promise.all(
      [...this.providers.values()].map(async (provider): Promise<ProviderHealth> => {
        const breaker = this.breakers.get(provider.name)!;
        const base = {
          name: provider.name,
          label: provider.label,
          baseUrl: provider.baseUrl,
          models: null,
          circuit: breaker.state,
        };
        if (!provider.configured) {
          return {
            ...base,
            status: 'not_configured',
            latencyMs: null,
            reason: `${provider.label} is not configured: ${provider.configHint}`,
          };
        }
        // A cooling provider is left alone here too; it is tried again when its cooldown ends.
        if (base.circuit === 'open') {
          const reason = this.coolingDown(provider, breaker).message;
          return { ...base, status: 'down', latencyMs: null, reason };
        }
        // Cloud providers are not probed on every check: a configured key is what can be known cheaply.
        if (!provider.probe)
          return { ...base, status: 'configured', latencyMs: null, reason: null };
        const started = performance.now();
        try {
          const models = await this.listedModels(
            provider,
            new AbortController().signal,
            true,
            PROBE_TIMEOUT_MS,
          );
          return {
            ...base,
            models,
            status: 'up',
            latencyMs: Math.round(performance.now() - started),
            reason: null,
          };
        } catch (error) {
          const reason = error instanceof Error ? error.message : String(error);
          return {
            ...base,
            status: 'down',
            latencyMs: Math.round(performance.now() - started),
            reason,
          };
        }
      }),
    );
  }

  /** Every alias with whether it can be used now: key present, server reachable, model listed. */
  async availability(): Promise<ModelAvailability[]> {
    const health = new Map((await this.providerHealth()).map((p) => [p.name, p]));
    return this.registry.all().map((alias) => {
      const provider = health.get(alias.provider)!;
      const reachable = provider.status === 'up' || provider.status === 'configured';
      const missing = alias.model !== null && provider.models?.includes(alias.model) === false;
      const reason = !reachable
        ? provider.reason
        : missing
          ? notListed(this.provider(alias.provider), alias.model!, provider.models!)
          : null;
      return { alias, providerLabel: provider.label, available: reason === null, reason };
    });
  }

  private provider(name: string): LlmProvider {
    const provider = this.providers.get(name);
    if (!provider) throw new Error(`No provider adapter registered as "${name}"`);
    return provider;
  }

  private async withTimeout<T>(
    signal: AbortSignal,
    work: (signal: AbortSignal) => Promise<T>,
    provider: LlmProvider,
    timeoutMs = this.config.get('LLM_TIMEOUT_MS'),
  ): Promise<T> {
    const timeout = new LlmException(
      'provider_timeout',
      `${provider.label} at ${provider.baseUrl} did not answer within ${timeoutMs} ms`,
    );
    const combined = AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]);
    try {
      return await work(combined);
    } catch (error) {
      if (combined.aborted && !signal.aborted) throw timeout;
      throw error;
    }
  }
}
