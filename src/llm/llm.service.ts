import { Inject, Injectable, Logger } from '@nestjs/common';

import { sleep } from '../common/sleep';
import { AppConfig } from '../config/app-config';
import { LlmException, UnknownModelException } from './llm.errors';
import {
  ChatMessage,
  GenerationParams,
  LLM_PROVIDERS,
  LlmChunk,
  LlmProvider,
  LlmRequest,
  ResponseFormat,
} from './llm.types';
import { ModelAlias, ModelRegistry } from './model-registry';
import { pulledChunks } from './pulled-chunks';
import { nextRetryDelay } from './retry-policy';

export interface ResolvedModel extends ModelAlias {
  providerLabel: string;
}

export interface GenerateRequest {
  model: ResolvedModel;
  messages: ChatMessage[];
  params: GenerationParams;
  responseFormat?: ResponseFormat;
  stop?: string[];
  /** `complete` asks for the whole reply at once, `stream` for chunks as they come. */
  mode: 'complete' | 'stream';
  /** Aborting it ends the request upstream; its reason is what `generate` throws. */
  signal: AbortSignal;
  /** The client request this call serves, for its log lines (none for background work). */
  correlationId?: string;
}

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
}

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

function transient(error: LlmException): boolean {
  return error.retry.retryable || error.llmCode === 'provider_timeout';
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

  constructor(
    readonly registry: ModelRegistry,
    @Inject(LLM_PROVIDERS) providers: LlmProvider[],
    private readonly config: AppConfig,
  ) {
    this.providers = new Map(providers.map((p) => [p.name, p]));
  }

  /** The alias's definition; throws 400 unknown_model for an alias nobody defined. */
  resolve(alias: string | null | undefined): ResolvedModel {
    const name = alias ?? this.registry.defaultAlias;
    const found = this.registry.find(name);
    if (!found) throw new UnknownModelException(name);
    return { ...found, providerLabel: this.provider(found.provider).label };
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
    if (model.model && !this.probed(provider)) return model.model;
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
        `${provider.label} at ${provider.baseUrl} has no model loaded; load one or set LMSTUDIO_MODEL`,
      );
    }
    // A model loaded since the list was cached counts.
    if (!ids.includes(model.model)) ids = await this.listedModels(provider, signal, true);
    if (!ids.includes(model.model))
      throw new LlmException('provider_model_not_found', notListed(provider, model.model, ids));
    return model.model;
  }

  /** Local servers are asked what they serve; a cloud key is only checked for presence. */
  private probed(provider: LlmProvider): boolean {
    return provider.name !== 'groq';
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
   * backoff; after it they surface, since a retry would repeat text the caller already has.
   */
  async deliver(request: GenerateRequest, onChunk: (chunk: LlmChunk) => void): Promise<void> {
    const provider = this.provider(request.model.provider);
    const upstreamModel = await this.upstreamModel(request.model, request.signal);
    const timeoutMs = this.config.get('LLM_TIMEOUT_MS');
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
          signal: attemptAbort.signal,
        };
        return await this.attempt(provider, request.mode, llmRequest, (chunk) => {
          idle.touch();
          started ||= chunk.type === 'delta';
          onChunk(chunk);
        });
      } catch (error) {
        if (request.signal.aborted) throw request.signal.reason;
        const delay = started
          ? undefined
          : nextRetryDelay(error, attempt, { maxRetries: this.config.get('LLM_MAX_RETRIES') });
        if (delay === undefined) throw error;
        this.logger.warn(
          {
            correlationId: request.correlationId,
            provider: provider.name,
            attempt: attempt + 1,
            delayMs: delay,
            code: (error as LlmException).code,
          },
          'retrying provider call',
        );
        await sleep(delay, request.signal);
      } finally {
        idle.clear();
        request.signal.removeEventListener('abort', onOuterAbort);
      }
    }
  }

  /** The same chunks as an async iterable (see `deliver`), for callers that read them in a loop. */
  generate(request: GenerateRequest): AsyncIterable<LlmChunk> {
    return pulledChunks(
      (signal, onChunk) => this.deliver({ ...request, signal }, onChunk),
      request.signal,
    );
  }

  /** One call to the provider, whole or streamed, as chunks either way. */
  private async attempt(
    provider: LlmProvider,
    mode: GenerateRequest['mode'],
    request: LlmRequest,
    onChunk: (chunk: LlmChunk) => void,
  ): Promise<void> {
    if (mode === 'stream') return provider.stream(request, onChunk);
    const { content, upstreamModel, finishReason, usage } = await provider.complete(request);
    onChunk({ type: 'delta', text: content });
    onChunk({ type: 'done', upstreamModel, finishReason, usage });
  }

  /** Each provider: configured, reachable (local servers are probed), how fast it answered. */
  async providerHealth(): Promise<ProviderHealth[]> {
    return Promise.all(
      [...this.providers.values()].map(async (provider): Promise<ProviderHealth> => {
        const base = {
          name: provider.name,
          label: provider.label,
          baseUrl: provider.baseUrl,
          models: null,
        };
        if (!provider.configured) {
          return {
            ...base,
            status: 'not_configured',
            latencyMs: null,
            reason: `${provider.label} is not configured: ${provider.configHint}`,
          };
        }
        // Cloud providers are not probed on every check: a configured key is what can be known cheaply.
        if (!this.probed(provider))
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
