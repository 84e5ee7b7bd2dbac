import { randomUUID } from 'node:crypto';

import { Injectable } from '@nestjs/common';

import { AppException, ValidationFailedException } from '../common/errors/app.exception';
import { LlmException } from '../llm/llm.errors';
import { GenerateRequest, LlmService, ResolvedModel } from '../llm/llm.service';
import type { LlmUsage, ToolCall } from '../llm/llm.types';
import { cacheKeyMaterial, isDeterministic, ResponseCache } from '../llm/response-cache';
import { MetricsService } from '../metrics/metrics.service';
import { ThinkSplitter } from '../prompts/think-splitter';
import { messageCost } from '../prompts/prompt-manager';
import { countTokensConservativelyAsync } from '../prompts/token-counter';
import { CompletionFiles } from './completion-files';
import type { ChatCompletionRequestDto } from './dto/chat-completion-request.dto';
import type {
  ChatCompletionDto,
  OpenAiModelDto,
  OpenAiModelListDto,
} from './dto/chat-completion-response.dto';
import {
  CompletionEvent,
  CompletionInput,
  CompletionMeta,
  CompletionReply,
  CompletionUsage,
  toChatCompletion,
  toCompletionInput,
  toolProblems,
  toOpenAiModel,
} from './openai.mapper';
import { OwnerSlots } from './owner-slots';

export type CacheStatus = 'HIT' | 'MISS';

export interface CompletionRun {
  meta: CompletionMeta;
  /** Set when the response cache was consulted. */
  cache: CacheStatus | null;
  /** Lazy: the provider is called when the first event is asked for, so errors come first. */
  events: AsyncIterable<CompletionEvent>;
}

type Mode = 'complete' | 'stream';

/** What the client's request gives the provider call: when to abort, and its log lines' id. */
export type ProviderCall = Pick<GenerateRequest, 'signal' | 'correlationId'>;

/** A cached reply told again as a stream: reasoning, then the answer word by word. */
function* replayEvents(reply: CompletionReply): Generator<CompletionEvent> {
  if (reply.reasoning) yield { type: 'delta', content: '', reasoning: reply.reasoning };
  for (const piece of reply.content.match(/\s*\S+|\s+$/g) ?? [])
    yield { type: 'delta', content: piece, reasoning: '' };
  for (const [index, call] of (reply.toolCalls ?? []).entries())
    yield { type: 'tool_call', index, ...call };
  yield { type: 'done', reply };
}

function replay(reply: CompletionReply): AsyncIterable<CompletionEvent> {
  const events = replayEvents(reply);
  return { [Symbol.asyncIterator]: () => ({ next: () => Promise.resolve(events.next()) }) };
}

async function lastReply(events: AsyncIterable<CompletionEvent>): Promise<CompletionReply> {
  for await (const event of events) if (event.type === 'done') return event.reply;
  throw new Error('the reply ended without its done event');
}

/**
 * The provider's usage, else our count: the prompt's tokens as the window check counted
 * them (not counted a second time), the reply's in slices that yield.
 */
async function usageOf(
  promptTokens: number,
  reply: string,
  reported: LlmUsage | null,
): Promise<CompletionUsage> {
  if (reported) return { ...reported, estimated: false };
  return {
    promptTokens,
    completionTokens: await countTokensConservativelyAsync(reply),
    estimated: true,
  };
}

/**
 * The OpenAI-compatible door: stateless completions by alias through LlmService (retries,
 * timeouts), reasoning split off as in a chat turn, deterministic replies cached per owner.
 */
@Injectable()
export class OpenAiService {
  /** What /v1/models gives as every alias's `created`. */
  private readonly startedAt = Math.floor(Date.now() / 1000);

  constructor(
    private readonly llm: LlmService,
    private readonly cache: ResponseCache,
    private readonly slots: OwnerSlots,
    private readonly metrics: MetricsService,
    private readonly files: CompletionFiles,
  ) {}

  listModels(): OpenAiModelListDto {
    const data = this.llm.registry.all().map((alias) => toOpenAiModel(alias, this.startedAt));
    return { object: 'list', data };
  }

  getModel(id: string): OpenAiModelDto {
    return toOpenAiModel(this.model(id), this.startedAt);
  }

  async complete(
    owner: string,
    dto: ChatCompletionRequestDto,
    call: ProviderCall,
  ): Promise<{ cache: CacheStatus | null; completion: ChatCompletionDto }> {
    const run = await this.start(owner, dto, 'complete', call);
    return {
      cache: run.cache,
      completion: toChatCompletion(run.meta, await lastReply(run.events)),
    };
  }

  stream(owner: string, dto: ChatCompletionRequestDto, call: ProviderCall): Promise<CompletionRun> {
    return this.start(owner, dto, 'stream', call);
  }

  private async start(
    owner: string,
    dto: ChatCompletionRequestDto,
    mode: Mode,
    call: ProviderCall,
  ): Promise<CompletionRun> {
    const model = this.model(dto.model);
    const problems = toolProblems(dto);
    if (problems.length > 0) throw new ValidationFailedException(problems);
    const files = await this.files.read(owner, dto.messages, model);
    const input = toCompletionInput(dto, model, files.carried);
    const promptTokens = await this.checked(model, input, files.imageTokens).catch(
      async (error: unknown) => {
        // Inline files stored for a refused request are not kept.
        await this.files.forget(owner, files.stored);
        throw error;
      },
    );
    const meta = {
      id: `chatcmpl-${randomUUID()}`,
      created: Math.floor(Date.now() / 1000),
      model: model.alias,
    };
    if (!this.cache.enabled || !isDeterministic(input.params))
      return {
        meta,
        cache: null,
        events: this.generate(owner, model, input, promptTokens, mode, call),
      };
    const key = this.cache.keyOf(cacheKeyMaterial(owner, input));
    const cached = await this.cache.get(key);
    if (cached) return { meta, cache: 'HIT', events: replay(cached) };
    return {
      meta,
      cache: 'MISS',
      events: this.generate(owner, model, input, promptTokens, mode, call, key),
    };
  }

  /** Refuses what the alias cannot do or hold; returns the prompt's tokens (checkContextWindow). */
  private async checked(
    model: ResolvedModel,
    input: CompletionInput,
    imageTokens: number,
  ): Promise<number> {
    this.llm.assertCapable(model, {
      tools: input.tools !== undefined,
      images: input.messages.some((m) => (m.images?.length ?? 0) > 0),
      responseFormat: input.responseFormat,
    });
    return this.checkContextWindow(model, input, imageTokens);
  }

  /**
   * Refuses a prompt that cannot fit the alias's context window, as a turn does, instead
   * of forwarding what the provider would truncate, refuse or grind through; counted as a
   * turn counts (conservatively, with each message's overhead), plus max_tokens if set.
   * Returns the messages' tokens without overhead, the estimate usage falls back on.
   */
  private async checkContextWindow(
    model: ResolvedModel,
    input: CompletionInput,
    imageTokens = 0,
  ): Promise<number> {
    // Images of stored files, counted by the provider's rule as a turn counts them.
    let counted = imageTokens;
    let promptTokens = imageTokens;
    for (const message of input.messages) {
      let tokens = await countTokensConservativelyAsync(message.content);
      // A call is sent as its name and arguments; counted as their JSON, a little over.
      if (message.toolCalls?.length)
        tokens += await countTokensConservativelyAsync(JSON.stringify(message.toolCalls));
      counted += tokens;
      promptTokens += messageCost(tokens);
    }
    // The tools' definitions go into the prompt too.
    if (input.tools)
      promptTokens += await countTokensConservativelyAsync(JSON.stringify(input.tools));
    const replyTokens = input.params.maxTokens ?? 0;
    if (promptTokens + replyTokens <= model.contextWindow) return counted;
    const asked = replyTokens
      ? `you requested ${promptTokens + replyTokens} tokens (${promptTokens} in the messages, ${replyTokens} in the completion)`
      : `your messages resulted in ${promptTokens} tokens`;
    throw new AppException(
      'context_length_exceeded',
      `The context window of '${model.alias}' is ${model.contextWindow} tokens, but ${asked}; shorten the messages or lower max_tokens`,
    );
  }

  private model(alias: string): ResolvedModel {
    if (!this.llm.isKnown(alias)) {
      throw new AppException(
        'model_not_found',
        `The model '${alias}' does not exist; GET /v1/models lists the aliases served here`,
      );
    }
    return this.llm.resolve(alias);
  }

  /** Calls the provider, forwarding its text as it comes, and caches the whole reply under `cacheKey`. */
  private async *generate(
    owner: string,
    model: ResolvedModel,
    input: CompletionInput,
    promptTokens: number,
    mode: Mode,
    call: ProviderCall,
    cacheKey?: string,
  ): AsyncGenerator<CompletionEvent> {
    const release = this.slots.take(owner);
    const splitter = new ThinkSplitter();
    let done:
      { finishReason: string | null; usage: LlmUsage | null; toolCalls?: ToolCall[] } | undefined;
    try {
      const chunks = this.llm.generate({
        model,
        messages: input.messages,
        params: input.params,
        responseFormat: input.responseFormat,
        stop: input.stop,
        tools: input.tools,
        toolChoice: input.toolChoice,
        parallelToolCalls: input.parallelToolCalls,
        mode,
        ...call,
      });
      for await (const chunk of chunks) {
        if (chunk.type === 'done') done = chunk;
        else if (chunk.type === 'tool_call') yield chunk;
        else if (chunk.type === 'delta') {
          const piece = splitter.feed(chunk.text);
          if (piece.content || piece.reasoning) yield { type: 'delta', ...piece };
        }
      }
      const tail = splitter.end();
      if (tail.content || tail.reasoning) yield { type: 'delta', ...tail };
    } catch (error) {
      if (error instanceof LlmException)
        this.metrics.recordProviderError(model.provider, error.code);
      throw error;
    } finally {
      release();
    }
    const { content, reasoning } = splitter.result;
    const toolCalls = done?.toolCalls ?? [];
    const called = toolCalls.map((c) => c.name + c.arguments).join('');
    // Every OpenAI-compatible server sends one; should one not, the reply simply ended.
    let finishReason = done?.finishReason ?? 'stop';
    // Some local servers end a reply that called tools as `stop`; clients branch on this.
    if (toolCalls.length > 0 && finishReason === 'stop') finishReason = 'tool_calls';
    const reply: CompletionReply = {
      content,
      reasoning,
      finishReason,
      usage: await usageOf(promptTokens, content + (reasoning ?? '') + called, done?.usage ?? null),
      ...(toolCalls.length > 0 && { toolCalls }),
    };
    if (cacheKey) await this.cache.put(cacheKey, reply);
    yield { type: 'done', reply };
  }
}
