import { createHash } from 'node:crypto';

import {
  BeforeApplicationShutdown,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';

import { AppException, ValidationFailedException } from '../common/errors/app.exception';
import { ERROR_CODES, isErrorCode } from '../common/errors/error-codes';
import { newId } from '../common/ids';
import { AppConfig } from '../config/app-config';
import { ConversationNotFoundException } from '../conversations/conversation-not-found.exception';
import { ConversationsService } from '../conversations/conversations.service';
import type { Message } from '../generated/prisma/client';
import { LlmErrorCode, LlmException, UnknownModelException } from '../llm/llm.errors';
import { LlmService, ResolvedModel } from '../llm/llm.service';
import type { GenerationParams } from '../llm/llm.types';
import {
  DEFAULT_SYSTEM_PROMPT,
  MESSAGE_OVERHEAD_TOKENS,
  PromptBudget,
  PromptManager,
} from '../prompts/prompt-manager';
import { ThinkSplitter } from '../prompts/think-splitter';
import { countTokensConservatively } from '../prompts/token-counter';
import { MetricsService } from '../metrics/metrics.service';
import { finishedGeneration, Generation, TurnOutcome, TurnStop } from './generation';
import { GenerationRegistry } from './generation-registry';
import { ClaimedConversation, TurnsRepository } from './turns.repository';

export interface TurnInput {
  message: string;
  model?: string;
  params?: GenerationParams;
  /** Ask the provider for the whole reply, or for chunks as they come. */
  mode: 'complete' | 'stream';
  idempotencyKey?: string;
}

export interface GenerationStatus {
  assistantMessageId: string;
  status: 'streaming';
  model: string;
  text: string;
  startedAt: string;
}

/** Most rows one turn reads for its history, whatever the window allows. */
const HISTORY_MAX_ROWS = 1000;
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/;

class ConversationBusyException extends AppException {
  constructor() {
    super(
      'conversation_busy',
      'Another turn is running on this conversation; wait for it to finish (GET …/generation) or cancel it (POST …/cancel)',
    );
  }
}

function requestHash(input: TurnInput): string {
  const canonical = JSON.stringify([input.message, input.model ?? null, input.params ?? {}]);
  return createHash('sha256').update(canonical).digest('hex');
}

function mergeParams(...layers: (GenerationParams | undefined)[]): GenerationParams {
  const merged: GenerationParams = {};
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer ?? {}) as [
      keyof GenerationParams,
      number | undefined,
    ][]) {
      if (value !== undefined && value !== null) merged[key] = value;
    }
  }
  return merged;
}

function conversationParams(c: ClaimedConversation): GenerationParams {
  return {
    temperature: c.temperature ?? undefined,
    topP: c.topP ?? undefined,
    maxTokens: c.maxTokens ?? undefined,
    seed: c.seed ?? undefined,
  };
}

/**
 * One chat turn, whole or streamed: claim the conversation, store the user message,
 * rebuild the prompt from stored history, call the provider, store the reply however
 * the generation ends, release the claim.
 */
@Injectable()
export class ChatService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(ChatService.name);
  private readonly defaultSystemPromptTokens = countTokensConservatively(DEFAULT_SYSTEM_PROMPT);
  private sweeper?: NodeJS.Timeout;

  constructor(
    private readonly turns: TurnsRepository,
    private readonly llm: LlmService,
    private readonly prompts: PromptManager,
    private readonly generations: GenerationRegistry,
    private readonly conversations: ConversationsService,
    private readonly metrics: MetricsService,
    private readonly config: AppConfig,
  ) {
    metrics.watchActiveGenerations(() => generations.size);
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.sweep();
    const every = Math.max(1000, Math.floor(this.config.get('TURN_CLAIM_TTL_MS') / 2));
    this.sweeper = setInterval(() => void this.sweep(), every);
    this.sweeper.unref();
  }

  /** Lets running replies finish (up to SHUTDOWN_TIMEOUT_MS) while the database is still connected. */
  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.sweeper);
    await this.generations.drain(
      this.config.get('SHUTDOWN_TIMEOUT_MS'),
      new TurnStop(
        'failed',
        'server_shutdown',
        'The server shut down before the reply finished; send the message again',
        503,
      ),
    );
  }

  /** Starts a turn (or finds the one an Idempotency-Key names) and returns it running. */
  async startTurn(ownerId: string, conversationId: string, input: TurnInput): Promise<Generation> {
    this.validate(input);
    const tokenCount = countTokensConservatively(input.message);
    const turnId = newId();
    const idempotencyKey = input.idempotencyKey ?? null;
    const hash = idempotencyKey ? requestHash(input) : null;

    const max = this.config.get('MAX_CONCURRENT_GENERATIONS_PER_OWNER');
    const releaseSlot = this.generations.reserve(ownerId, max);
    if (!releaseSlot) {
      throw new AppException(
        'too_many_generations',
        `At most ${max} replies may be generated at once; wait for one to finish`,
        { headers: { 'Retry-After': '1' } },
      );
    }
    try {
      const generation = await this.claimAndBegin(ownerId, conversationId, input, {
        tokenCount,
        turnId,
        idempotencyKey,
        hash,
      });
      void generation.outcome.finally(releaseSlot);
      return generation;
    } catch (error) {
      releaseSlot();
      throw error;
    }
  }

  private async claimAndBegin(
    ownerId: string,
    conversationId: string,
    input: TurnInput,
    turn: {
      tokenCount: number;
      turnId: string;
      idempotencyKey: string | null;
      hash: string | null;
    },
  ): Promise<Generation> {
    const { tokenCount, turnId, idempotencyKey, hash } = turn;
    const ttlMs = this.config.get('TURN_CLAIM_TTL_MS');
    const claim = await this.turns.claim({
      ownerId,
      conversationId,
      turnId,
      ttlMs,
      idempotencyKey,
    });
    switch (claim.kind) {
      case 'not_found':
        throw new ConversationNotFoundException(conversationId);
      case 'busy':
        throw new ConversationBusyException();
      case 'replay':
        return this.replay(claim.userMessageId, claim.requestHash, hash);
    }

    const conversation = claim.conversation;
    let model: ResolvedModel;
    let params: GenerationParams;
    let budget: PromptBudget;
    let historyTokens: number;
    let begun: Awaited<ReturnType<TurnsRepository['begin']>>;
    try {
      model = this.llm.resolve(input.model ?? conversation.model);
      params = mergeParams(model.params, conversationParams(conversation), input.params);
      budget = this.budget(model, params, conversation.systemPrompt, tokenCount);
      historyTokens = this.prompts.historyBudget(budget);
      begun = await this.turns.begin({
        conversationId,
        turnId,
        userMessageId: newId(),
        userSeq: conversation.userSeq,
        content: input.message,
        tokenCount,
        alias: model.alias,
        idempotencyKey,
        requestHash: hash,
        previousTurnId: conversation.previousTurnId,
        historyRows: HISTORY_MAX_ROWS,
        historyTokens,
        messageOverhead: MESSAGE_OVERHEAD_TOKENS,
      });
    } catch (error) {
      // Nothing was stored (begin is one statement): give the conversation back at once.
      await this.turns.release(conversationId, turnId);
      throw error;
    }
    const { userMessage, history } = begun;
    const prompt = this.prompts.build(
      conversation.systemPrompt ?? DEFAULT_SYSTEM_PROMPT,
      history,
      input.message,
      budget,
    );

    const generation = new Generation(conversationId, turnId, model.alias);
    generation.push({ type: 'message.created', userMessage, assistantMessageId: turnId });
    this.generations.add(generation);
    void this.run(generation, userMessage, {
      model,
      params: { ...params, maxTokens: budget.replyTokens },
      messages: prompt.messages,
      promptTokens: prompt.promptTokens,
      mode: input.mode,
    });
    return generation;
  }

  async generationStatus(ownerId: string, conversationId: string): Promise<GenerationStatus> {
    const generation = await this.active(ownerId, conversationId);
    return {
      assistantMessageId: generation.assistantMessageId,
      status: 'streaming',
      model: generation.alias,
      text: generation.text,
      startedAt: generation.startedAt.toISOString(),
    };
  }

  /** Stops the running turn, aborting the provider request; resolves with the stored partial reply. */
  async cancel(ownerId: string, conversationId: string): Promise<Message | null> {
    const generation = await this.active(ownerId, conversationId);
    generation.stop(
      new TurnStop('cancelled', 'turn_cancelled', 'The turn was cancelled by the client', 409),
    );
    return (await generation.outcome).assistantMessage;
  }

  /** The running turn, to follow its events again (resume after a disconnect). */
  async follow(ownerId: string, conversationId: string): Promise<Generation> {
    return this.active(ownerId, conversationId);
  }

  private async active(ownerId: string, conversationId: string): Promise<Generation> {
    await this.conversations.get(ownerId, conversationId);
    const generation = this.generations.get(conversationId);
    if (!generation || generation.done) {
      throw new AppException('no_active_generation', 'No turn is running on this conversation');
    }
    return generation;
  }

  private validate(input: TurnInput): void {
    const max = this.config.get('MESSAGE_MAX_CHARS');
    if (input.message.trim().length === 0) {
      throw new ValidationFailedException([
        { field: 'message', errors: ['message must not be empty'] },
      ]);
    }
    if (input.message.length > max) {
      throw new ValidationFailedException([
        {
          field: 'message',
          errors: [`message must be at most ${max} characters (it has ${input.message.length})`],
        },
      ]);
    }
    if (input.model !== undefined && !this.llm.isKnown(input.model))
      throw new UnknownModelException(input.model);
    if (input.idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(input.idempotencyKey)) {
      throw new AppException(
        'invalid_idempotency_key',
        'Idempotency-Key must be 1 to 200 printable ASCII characters',
      );
    }
  }

  private budget(
    model: ResolvedModel,
    params: GenerationParams,
    systemPrompt: string | null,
    newMessageTokens: number,
  ): PromptBudget {
    return {
      contextWindow: model.contextWindow,
      replyTokens: params.maxTokens ?? model.maxOutputTokens,
      systemPromptTokens:
        systemPrompt === null
          ? this.defaultSystemPromptTokens
          : countTokensConservatively(systemPrompt),
      newMessageTokens,
    };
  }

  private async replay(
    userMessageId: string,
    storedHash: string | null,
    hash: string | null,
  ): Promise<Generation> {
    if (storedHash !== hash) {
      throw new AppException(
        'idempotency_key_reused',
        'This Idempotency-Key was already used with a different body; use a new key for a new message',
      );
    }
    const turn = await this.turns.findTurnByUserMessage(userMessageId);
    const assistant = turn?.assistantMessage;
    if (!turn || !assistant) throw new ConversationBusyException();
    if (assistant.status === 'streaming') {
      const live = this.generations.get(assistant.conversationId);
      if (live?.assistantMessageId === assistant.id) return live;
      throw new ConversationBusyException();
    }
    const error = assistant.errorCode
      ? {
          code: assistant.errorCode,
          message: assistant.errorMessage ?? 'The original request failed',
          status: isErrorCode(assistant.errorCode) ? ERROR_CODES[assistant.errorCode].status : 502,
        }
      : null;
    return finishedGeneration(turn.userMessage, assistant, error);
  }

  private async run(
    generation: Generation,
    userMessage: Message,
    request: {
      model: ResolvedModel;
      params: GenerationParams;
      messages: { role: 'system' | 'user' | 'assistant'; content: string }[];
      promptTokens: number;
      mode: 'complete' | 'stream';
    },
  ): Promise<void> {
    const started = performance.now();
    const ttlMs = this.config.get('TURN_CLAIM_TTL_MS');
    const deadline = setTimeout(
      () =>
        generation.stop(
          new TurnStop(
            'failed',
            'generation_timeout',
            `The reply took longer than GENERATION_MAX_MS (${this.config.get('GENERATION_MAX_MS')} ms)`,
            504,
          ),
        ),
      this.config.get('GENERATION_MAX_MS'),
    );
    const renewal = setInterval(
      () => {
        this.turns.renew(generation.conversationId, generation.assistantMessageId, ttlMs).then(
          (held) => {
            if (!held)
              generation.stop(
                new TurnStop(
                  'failed',
                  'turn_claim_lost',
                  'This turn lost its claim on the conversation',
                  409,
                ),
              );
          },
          (error: unknown) => this.logger.warn({ err: error }, 'could not renew turn claim'),
        );
      },
      Math.floor(ttlMs / 3),
    );

    const splitter = new ThinkSplitter();
    const emit = (piece: { content: string; reasoning: string }): void => {
      if (piece.reasoning) generation.push({ type: 'message.reasoning', delta: piece.reasoning });
      if (piece.content) generation.push({ type: 'message.delta', delta: piece.content });
    };
    let ttftMs: number | null = null;
    let upstreamModel: string | null = null;
    let finishReason: string | null = null;
    let usage: { promptTokens: number; completionTokens: number } | null = null;
    let failure: {
      status: 'failed' | 'cancelled';
      code: string;
      message: string;
      httpStatus: number;
    } | null = null;

    try {
      for await (const chunk of this.llm.generate({ ...request, signal: generation.signal })) {
        if (chunk.type === 'delta') {
          ttftMs ??= Math.round(performance.now() - started);
          emit(splitter.push(chunk.text));
        } else {
          upstreamModel = chunk.upstreamModel;
          finishReason = chunk.finishReason;
          usage = chunk.usage;
        }
      }
    } catch (error) {
      failure = this.describeFailure(error, request.model.provider);
    } finally {
      clearTimeout(deadline);
      clearInterval(renewal);
    }
    emit(splitter.end());

    const { content, reasoning } = splitter.result;
    const contentTokens = countTokensConservatively(content);
    const completionTokens =
      usage?.completionTokens ?? contentTokens + countTokensConservatively(reasoning ?? '');
    let assistantMessage: Message | null = null;
    try {
      assistantMessage = await this.turns.finish({
        conversationId: generation.conversationId,
        turnId: generation.assistantMessageId,
        status: failure?.status ?? 'complete',
        content,
        reasoning,
        tokenCount: contentTokens,
        upstreamModel,
        promptTokens: usage?.promptTokens ?? request.promptTokens,
        completionTokens,
        usageEstimated: usage === null,
        latencyMs: Math.round(performance.now() - started),
        ttftMs,
        finishReason: failure ? null : finishReason,
        errorCode: failure?.code ?? null,
        errorMessage: failure?.message ?? null,
      });
    } catch (error) {
      this.logger.error(
        { err: error, conversationId: generation.conversationId },
        'could not store the reply',
      );
      failure ??= {
        status: 'failed',
        code: 'internal_error',
        message: 'The reply could not be stored',
        httpStatus: 500,
      };
    }

    const outcome: TurnOutcome = {
      userMessage,
      assistantMessage,
      error: failure && {
        code: failure.code,
        message: failure.message,
        status: failure.httpStatus,
      },
    };
    generation.push(
      outcome.error || !assistantMessage
        ? {
            type: 'error',
            ...(outcome.error ?? {
              code: 'internal_error',
              message: 'The reply could not be stored',
              status: 500,
            }),
            assistantMessage,
          }
        : { type: 'message.completed', assistantMessage },
    );
    const outcomeCode = failure?.code ?? 'complete';
    const latencyMs = assistantMessage?.latencyMs ?? Math.round(performance.now() - started);
    const promptTokens = usage?.promptTokens ?? request.promptTokens;
    this.metrics.recordTurn({
      alias: request.model.alias,
      outcome: outcomeCode,
      latencyMs,
      ttftMs,
      promptTokens,
      completionTokens,
    });
    this.logger.log(
      {
        conversationId: generation.conversationId,
        alias: request.model.alias,
        upstreamModel,
        outcome: outcomeCode,
        latencyMs,
        ttftMs,
        promptTokens,
        completionTokens,
        ...(this.config.get('LOG_MESSAGES') && { message: userMessage.content, reply: content }),
      },
      'chat turn',
    );
    generation.end(outcome);
  }

  private describeFailure(
    error: unknown,
    provider: string,
  ): {
    status: 'failed' | 'cancelled';
    code: string;
    message: string;
    httpStatus: number;
  } {
    if (error instanceof TurnStop)
      return {
        status: error.status,
        code: error.code,
        message: error.message,
        httpStatus: error.httpStatus,
      };
    if (error instanceof LlmException) {
      this.metrics.recordProviderError(provider, error.llmCode);
      return {
        status: 'failed',
        code: error.llmCode satisfies LlmErrorCode,
        message: error.message,
        httpStatus: error.status,
      };
    }
    this.logger.error({ err: error }, 'generation failed unexpectedly');
    return {
      status: 'failed',
      code: 'internal_error',
      message: 'The reply failed on our side',
      httpStatus: 500,
    };
  }

  private async sweep(): Promise<void> {
    try {
      const finalized = await this.turns.finalizeAbandoned();
      if (finalized > 0)
        this.logger.warn({ finalized }, 'finalised turns left unfinished by a stopped process');
    } catch (error) {
      this.logger.warn({ err: error }, 'could not finalise abandoned turns');
    }
  }
}
