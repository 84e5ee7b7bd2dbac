import { createHash } from 'node:crypto';

import { Injectable, Logger } from '@nestjs/common';

import { AppException } from '../common/errors/app.exception';
import { isErrorCode, isTransient } from '../common/errors/error-codes';
import { sleep } from '../common/sleep';
import { newId } from '../common/ids';
import { AppConfig } from '../config/app-config';
import { databaseOutage, toDatabaseUnavailable } from '../common/errors/database-errors';
import { ConversationNotFoundException } from '../history/conversation-not-found.exception';
import { TitleWriter } from '../conversations';
import { FormatParams, mergeParams, requestedFormat } from '../llm/generation-params';
import { LlmException } from '../llm/llm.errors';
import { LlmService, ResolvedModel } from '../llm/llm.service';
import type {
  ChatImage,
  ChatMessage,
  GenerationParams,
  LlmUsage,
  ResponseFormat,
  ToolCall,
  ToolChoice,
  ToolDefinition,
  TriedAlias,
} from '../llm/llm.types';
import { AppLog } from '../logging/logging.module';
import { buildContextManifest, ContextManifest } from '../history/context-manifest';
import { leftOutOf } from '../history/memory-mark';
import { ToolChoiceDto, ToolDefinitionDto, toToolDefinitions } from '../llm/dto/tools.dto';
import { MemoryService } from '../memory';
import type { Message } from '../history/message';
import { MessageNotFoundException } from '../history/message-not-found.exception';
import { MetricsService } from '../metrics/metrics.service';
import { MESSAGE_OVERHEAD_TOKENS, PromptManager, PromptPlan } from '../prompts/prompt-manager';
import {
  CachedReply,
  cacheKeyMaterial,
  isDeterministic,
  ResponseCache,
} from '../llm/response-cache';
import { ThinkSplitter } from '../prompts/think-splitter';
import { countTokensConservativelyAsync } from '../prompts/token-counter';
import { ConversationBusyException } from '../history/conversation-busy.exception';
import {
  MessageNotWaitingException,
  storedFailure,
  TooManyGenerationsException,
  turnFailure,
  WrongMessageRoleException,
} from './chat.errors';
import { finishedTurn, streamMarks } from './stream-marks';
import {
  BegunTurn,
  checkToolResults,
  chosenTool,
  promptInput,
  runServerTools,
  serverStep,
  toolMessageRows,
  turnAnchor,
} from './tool-turn';
import { Turn, TurnOutcome } from './turn';
import {
  attachmentBrief,
  AttachmentCost,
  attachmentCosts,
  attachmentRowsJson,
  chatImage,
  historyWithFiles,
  unseenImageAsText,
  withDocuments,
} from './attachments';
import { TurnRegistry } from './turn-registry';
import { TurnLease } from './turn-lease';
import { TurnsRepository } from './turns.repository';
import { ServerToolSet, ServerToolsService } from '../tools';
import { AttachableFile, FilesService } from '../files';
import {
  AnsweredMessage,
  ClaimedConversation,
  ClaimOutcome,
  FinishTurn,
  IdempotencyKeyTakenError,
  ToolResult,
} from './turns.types';

/** Where a turn attaches other than after the current leaf (see TurnAnchor). */
export interface TurnBranch {
  /**
   * edit: a new user message beside `messageId` (a user message); regenerate: a new reply
   * to it; after: a new user message below `messageId` (any message).
   */
  anchor: 'edit' | 'regenerate' | 'after';
  /** regenerate: a reply (answered again) or the user message to answer again. */
  messageId: string;
}

/** The results of the tools a waiting reply (`messageId`) called: stored, then answered. */
export interface TurnToolResults {
  messageId: string;
  results: ToolResult[];
}

export interface TurnInput {
  /** The new user message; null for a regenerate, which answers a stored one again. */
  message: string | null;
  /** Who spoke the new message (sent as its `name`), and its free-form metadata; stored. */
  name?: string;
  metadata?: Record<string, string>;
  /** Where the turn attaches; after the conversation's current leaf when absent. */
  branch?: TurnBranch;
  /** Ids of the owner's files the new message carries, in order (see docs/files.md). */
  attachments?: string[];
  /** Instead of a message: the results of a waiting reply's tools (message is then null). */
  toolResults?: TurnToolResults;
  /** MCP server tools (`server/tool`, `server/*`) the model may call; the conversation's when absent. */
  serverTools?: string[];
  /** Set by the runner on a server tool step's next turn: the step it takes over from. */
  handover?: { fromTurnId: string; step: number };
  /** Function tools the model may call (OpenAI's shape); the conversation's when absent, none when empty. */
  tools?: ToolDefinitionDto[];
  toolChoice?: ToolChoiceDto;
  model?: string;
  /** Sampling params over the conversation's, and the reply's format for this turn. */
  params?: GenerationParams & FormatParams;
  /** Ask the provider for the whole reply, or for chunks as they come. */
  mode: 'complete' | 'stream';
  idempotencyKey?: string;
  /** The request (or WebSocket connection) that asked for the turn: its log lines carry it. */
  correlationId?: string;
}

/** Everything a claimed turn decided before calling the provider. */
interface TurnPlan {
  model: ResolvedModel;
  params: GenerationParams;
  responseFormat?: ResponseFormat;
  tools?: ToolDefinition[];
  toolChoice?: ToolChoice;
  /** The MCP tools among `tools`, which the runner calls itself. */
  serverTools: ServerToolSet | null;
  prompt: PromptPlan;
  /** Tokens reserved for the reply: max_tokens upstream. */
  replyTokens: number;
}

/** What the provider sent, however the turn ended. */
interface Reply {
  /** The alias that answered (a fallback when the one asked for failed). */
  alias: string;
  /** Aliases given up before it. */
  tried: TriedAlias[];
  content: string;
  reasoning: string | null;
  /** The tools the model called; empty when none. */
  toolCalls: ToolCall[];
  upstreamModel: string | null;
  finishReason: string | null;
  usage: LlmUsage | null;
  ttftMs: number | null;
  failure: AppException | null;
  /** Served from the response cache: no provider call. */
  cached?: boolean;
}

/** What a turn's log lines are found by. */
interface LineIds {
  correlationId?: string;
  conversationId: string;
}

/** The files of the new user message (or of the message a regenerate answers again). */
interface Attached {
  files: AttachableFile[];
  costs: AttachmentCost[];
  /** The images' bytes, in the order of `files`' images. */
  images: ChatImage[];
}

const NOTHING_ATTACHED: Attached = { files: [], costs: [], images: [] };

interface TurnRequest {
  model: ResolvedModel;
  params: GenerationParams;
  responseFormat?: ResponseFormat;
  tools?: ToolDefinition[];
  toolChoice?: ToolChoice;
  serverTools: ServerToolSet | null;
  /** Who asked, and what: a server tool step's next turn starts from them. */
  ownerId: string;
  input: TurnInput;
  messages: ChatMessage[];
  promptTokens: number;
  mode: 'complete' | 'stream';
  startedAt: number;
  /** What the prompt holds, stored with the reply. */
  context: ContextManifest;
  correlationId?: string;
  /** The response cache's key for this prompt; null when the cache is off or not deterministic. */
  cacheKey: string | null;
}

const STORE_RETRY_FIRST_MS = 250;
const STORE_RETRY_MAX_MS = 5000;
/** How often a turn running on another process is looked at while waiting for it. */
const SETTLE_POLL_MS = 50;
/** A cached reply is streamed in pieces of about this many characters, as a provider would. */
const CACHED_PIECE_CHARS = 64;

/** `text` in pieces of `size` characters, never between the halves of a surrogate pair. */
function pieces(text: string, size: number): string[] {
  const out: string[] = [];
  for (let start = 0; start < text.length;) {
    let end = Math.min(start + size, text.length);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end++;
    out.push(text.slice(start, end));
    start = end;
  }
  return out;
}

function requestHash(input: TurnInput): string {
  const plain = [input.message, input.model ?? null, input.params ?? {}];
  // Speaker and metadata only when sent: a request without them hashes as it always has.
  const speaker = input.name !== undefined || input.metadata !== undefined;
  const fields = speaker ? [...plain, input.name ?? null, input.metadata ?? null] : plain;
  // A send hashes as it always has, so keys stored before branches or tools still replay.
  const branched = input.branch ? [...fields, input.branch] : fields;
  // Attachments only when sent, for the same reason.
  const attached = input.attachments?.length ? [...branched, input.attachments] : branched;
  const { tools, toolChoice, toolResults } = input;
  const tooled = tools !== undefined || toolChoice !== undefined || toolResults !== undefined;
  const canonical = JSON.stringify(
    tooled ? [...attached, tools ?? null, toolChoice ?? null, toolResults ?? null] : attached,
  );
  return createHash('sha256').update(canonical).digest('hex');
}

/**
 * One chat turn, top to bottom: claim the conversation → plan the prompt → begin (store
 * the user message, read the history window) → generate → finish (store the reply however
 * the turn ended, release the claim). `start` returns once the turn is running;
 * the turn then goes on whoever listens.
 */
@Injectable()
export class TurnRunner {
  private readonly logger = new Logger(TurnRunner.name);

  constructor(
    private readonly turns: TurnsRepository,
    private readonly lease: TurnLease,
    private readonly llm: LlmService,
    private readonly prompts: PromptManager,
    private readonly running: TurnRegistry,
    private readonly metrics: MetricsService,
    private readonly config: AppConfig,
    private readonly titles: TitleWriter,
    private readonly memory: MemoryService,
    private readonly log: AppLog,
    private readonly cache: ResponseCache,
    private readonly serverTools: ServerToolsService,
    private readonly files: FilesService,
  ) {}

  async start(ownerId: string, conversationId: string, input: TurnInput): Promise<Turn> {
    // Minted in conversation order: ids sort as the messages follow each other.
    const inputIds = (input.toolResults?.results ?? [null]).map(() => newId());
    const turnId = newId();
    const idempotencyKey = input.idempotencyKey ?? null;
    const hash = idempotencyKey ? requestHash(input) : null;
    const anchor = turnAnchor(input);
    // Checked (the owner's, readable) and read before anything is claimed or stored.
    const attached = await this.attachedOf(ownerId, input);
    const claim = await this.lease.claim({
      ownerId,
      conversationId,
      turnId,
      idempotencyKey,
      anchor,
      anchorId: input.toolResults?.messageId ?? input.branch?.messageId ?? null,
      inputCount: anchor === 'regenerate' ? 0 : inputIds.length,
      handoverFrom: input.handover?.fromTurnId ?? null,
    });
    if (claim.kind === 'replay')
      return this.replay(ownerId, input, claim.messageId, claim.requestHash, hash);
    if (claim.kind !== 'claimed') throw this.refusal(claim.kind, conversationId, input);

    const { conversation } = claim;
    const message = claim.answered?.content ?? input.message ?? '';
    let plan: TurnPlan;
    let begun: BegunTurn;
    try {
      const ids = { ownerId, conversationId, turnId, inputIds };
      ({ plan, begun } = await this.begin(ids, claim, input, message, hash, attached));
    } catch (error) {
      // Nothing was stored (begin is one statement): give the conversation back at once.
      await this.lease.release(conversationId, turnId);
      if (error instanceof IdempotencyKeyTakenError && idempotencyKey)
        return this.replayRace(ownerId, input, conversationId, idempotencyKey, hash);
      throw error;
    }
    const answeredId = claim.answered?.id ?? null;
    const files = await this.filesOf(begun, answeredId, plan.model, attached, conversationId);
    const request = this.request(ownerId, plan, begun, message, input, files);
    const turn = new Turn(conversationId, turnId, conversation.replySeq, plan.model.alias);
    turn.push({
      type: 'message.created',
      userMessage: begun.userMessage,
      assistantMessageId: turnId,
      ...(begun.toolMessages.length > 0 && { toolMessages: begun.toolMessages }),
    });
    this.running.add(turn);
    this.lease.hold(turn);
    // Folds what this window left out into the summary, in the background. The callback
    // lives as long as the reply: it keeps what the fold needs, not the history read.
    const leftOut = leftOutOf(begun);
    const { alias } = plan.model;
    const { parentId } = conversation;
    void this.run(turn, begun.userMessage, request).finally(() =>
      this.memory.afterTurn(conversationId, alias, parentId, leftOut),
    );
    return turn;
  }

  /**
   * Plans the claimed turn and stores what it begins with: the user message (none for a
   * regenerate) or the tool results, and the reply's placeholder; reads its history.
   */
  private async begin(
    ids: { ownerId: string; conversationId: string; turnId: string; inputIds: string[] },
    { conversation, answered, waiting }: Extract<ClaimOutcome, { kind: 'claimed' }>,
    input: TurnInput,
    message: string,
    requestHash: string | null,
    attached: Attached,
  ): Promise<{ plan: TurnPlan; begun: BegunTurn }> {
    const { ownerId, conversationId, turnId, inputIds } = ids;
    const results = waiting && checkToolResults(waiting, input.toolResults?.results ?? []);
    const inputTokens = await this.countInput(message, answered, results);
    // A new message's tokens (stored with it) count its files: the history window, which
    // sends them again, then budgets them as it budgets any message.
    if (!answered) inputTokens[0] += attached.costs.reduce((sum, c) => sum + c.tokens, 0);
    // A regenerate's stored message may carry images: the alias must see them too.
    const images = answered ? await this.files.hasImages(answered.id) : attached.images.length > 0;
    // The limit's second count goes with the planning, not after it.
    const [plan] = await Promise.all([
      this.plan(conversation, input, inputTokens, images),
      this.lease.confirmWithinLimit(ownerId, turnId),
    ]);
    const { userSeq, replySeq, parentId, previousTurnId } = conversation;
    const turn = {
      ...{ ownerId, conversationId, turnId, userSeq, replySeq, parentId, previousTurnId },
      ...{ userMessageId: inputIds[inputIds.length - 1], content: message },
      ...{ tokenCount: inputTokens.reduce((sum, n) => sum + n, 0) },
      ...{ speakerName: input.name ?? null, metadata: input.metadata ?? null },
      ...{ alias: plan.model.alias, idempotencyKey: input.idempotencyKey ?? null, requestHash },
      window: plan.prompt.window,
      attachmentsJson: attachmentRowsJson(inputIds[inputIds.length - 1], attached.files),
    };
    const begun = results
      ? await this.turns.beginToolResults({
          ...turn,
          results: toolMessageRows(results, inputIds, inputTokens, parentId ?? '', userSeq),
        })
      : { ...(await this.turns.begin(turn, answered)), toolMessages: [] };
    return { plan, begun };
  }

  /**
   * The tokens of what the turn stores before its reply, one count per message: the new
   * message (a regenerate reuses the stored count), or each tool result. Counted once the
   * turn is ours, in slices that yield, so a huge message delays no other request.
   */
  private async countInput(
    message: string,
    answered: AnsweredMessage | null,
    results: ToolResult[] | null,
  ): Promise<number[]> {
    if (results) return Promise.all(results.map((r) => countTokensConservativelyAsync(r.output)));
    // A regenerated tool step's results are in its history already.
    if (answered?.role === 'tool') return [0];
    return [answered?.tokenCount ?? (await countTokensConservativelyAsync(message))];
  }

  /** The provider request: the prompt (summary, window, new messages) and its manifest. */
  private request(
    ownerId: string,
    plan: TurnPlan,
    begun: BegunTurn,
    message: string,
    turnInput: TurnInput,
    files: { attached: Attached; history: Map<string, Attached> },
  ): TurnRequest {
    const { mode, correlationId } = turnInput;
    const summary = begun.mark?.kind === 'summary' ? begun.mark : null;
    const { attached } = files;
    const input = promptInput(begun, withDocuments(message, attached.files));
    if (attached.images.length > 0 && input[0]?.role === 'user') input[0].images = attached.images;
    const history = historyWithFiles(begun.history, files.history);
    const prompt = this.prompts.build(plan.prompt, history, input, summary);
    const params = { ...plan.params, maxTokens: plan.replyTokens };
    const { alias } = plan.model;
    const { tools, toolChoice, serverTools } = plan;
    // Keyed as /v1 keys a request: the same owner's same prompt to the same alias. A reply
    // that may call tools is not cached: what the tools would return next time may differ.
    const cacheKey =
      this.cache.enabled && isDeterministic(params) && !tools
        ? this.cache.keyOf(
            cacheKeyMaterial(ownerId, {
              ...{ alias, params, messages: prompt.messages },
              responseFormat: plan.responseFormat,
            }),
          )
        : null;
    return {
      model: plan.model,
      params,
      responseFormat: plan.responseFormat,
      ...(tools && { tools, toolChoice }),
      serverTools,
      ownerId,
      input: turnInput,
      cacheKey,
      messages: prompt.messages,
      promptTokens: prompt.promptTokens,
      mode,
      correlationId,
      startedAt: performance.now(),
      context: buildContextManifest({
        alias: plan.model.alias,
        contextWindow: plan.model.contextWindow,
        replyTokens: plan.replyTokens,
        plan: plan.prompt,
        prompt,
        window: begun,
        userMessageId: begun.userMessage.id,
        ...(begun.toolMessages.length > 0 && { inputCount: begun.toolMessages.length }),
        ...(tools && { toolNames: tools.map((tool) => tool.name) }),
        ...(attached.costs.length > 0 && { attachments: attached.costs }),
        memory: this.memory.summaryPlan(plan.model.alias),
      }),
    };
  }

  /** Why a claim was not taken, as the error the client gets. */
  private refusal(
    kind: Exclude<ClaimOutcome['kind'], 'claimed' | 'replay'>,
    conversationId: string,
    input: TurnInput,
  ): AppException {
    switch (kind) {
      case 'not_found':
        return new ConversationNotFoundException(conversationId);
      case 'message_not_found':
        return new MessageNotFoundException(
          input.toolResults?.messageId ?? input.branch?.messageId ?? '',
        );
      case 'wrong_role':
        return input.toolResults
          ? new MessageNotWaitingException(input.toolResults.messageId)
          : new WrongMessageRoleException(input.branch?.anchor ?? 'edit');
      case 'busy':
        return new ConversationBusyException();
      case 'limit':
        return new TooManyGenerationsException(
          this.config.get('MAX_CONCURRENT_GENERATIONS_PER_OWNER'),
        );
    }
  }

  /** Model, params, tools and prompt budget, for input messages of these token counts. */
  private async plan(
    conversation: ClaimedConversation,
    input: TurnInput,
    inputTokens: number[],
    images: boolean,
  ): Promise<TurnPlan> {
    const model = this.llm.resolve(input.model ?? conversation.model);
    const { temperature, topP, maxTokens, seed } = conversation;
    const stored = { temperature, topP, maxTokens, seed };
    const params = mergeParams(model.params, stored, input.params);
    const replyTokens = params.maxTokens ?? model.maxOutputTokens;
    const serverTools = this.serverToolsOf(input, conversation);
    const offered = [
      ...(input.tools ? toToolDefinitions(input.tools) : (conversation.tools ?? [])),
      ...(serverTools?.definitions ?? []),
    ];
    const tools = offered.length > 0 ? offered : undefined;
    const toolChoice = tools && this.toolChoiceOf(input, tools);
    const prompt = this.prompts.plan({
      contextWindow: model.contextWindow,
      replyTokens,
      systemPrompt: conversation.systemPrompt,
      // One message's overhead is the plan's own; each further one is counted here.
      newMessageTokens:
        inputTokens.reduce((sum, n) => sum + n, 0) +
        (inputTokens.length - 1) * MESSAGE_OVERHEAD_TOKENS,
      toolTokens: tools ? await countTokensConservativelyAsync(JSON.stringify(tools)) : 0,
      summaries: this.config.get('SUMMARIES') === 'on',
    });
    const responseFormat = requestedFormat(input.params);
    // Refused before anything is stored: an alias that cannot call tools or follow a schema.
    this.llm.assertCapable(model, { tools: tools !== undefined, responseFormat, images });
    return { model, params, responseFormat, tools, toolChoice, serverTools, prompt, replyTokens };
  }

  /**
   * The files the prompt shows: the new message's (set on it, as its events show it), or
   * the regenerated message's, and those of the history window's messages.
   */
  private async filesOf(
    begun: BegunTurn,
    answeredId: string | null,
    model: ResolvedModel,
    attached: Attached,
    conversationId: string,
  ): Promise<{ attached: Attached; history: Map<string, Attached> }> {
    if (!answeredId)
      begun.userMessage = {
        ...begun.userMessage,
        attachments: attached.files.map(attachmentBrief),
      };
    const past = await this.pastAttachments(begun, answeredId, model).catch((error: unknown) => {
      // The turn is stored and claimed: it goes on without earlier files rather than hang.
      this.logger.warn({ err: error, conversationId }, 'could not read earlier attachments');
      return { history: new Map<string, Attached>(), answered: NOTHING_ATTACHED };
    });
    return { attached: answeredId ? past.answered : attached, history: past.history };
  }

  /**
   * The files a new message carries: each the owner's and readable (else the send is
   * refused before anything is claimed), an image's bytes read whole (at most
   * ATTACHED_IMAGE_MAX_BYTES each). A regenerate or tool results carry none of their own.
   */
  private async attachedOf(ownerId: string, input: TurnInput): Promise<Attached> {
    const ids = input.attachments ?? [];
    if (ids.length === 0 || input.toolResults || input.branch?.anchor === 'regenerate')
      return NOTHING_ATTACHED;
    return this.withBytes(await this.files.forMessage(ownerId, ids), true);
  }

  private async withBytes(files: AttachableFile[], seeing: boolean): Promise<Attached> {
    const shown = seeing ? files.filter((file) => file.kind === 'image') : [];
    const bytes = await Promise.all(shown.map((file) => this.files.bytesOf(file)));
    return {
      files: seeing ? files : files.map(unseenImageAsText),
      costs: attachmentCosts(files),
      images: shown.map((file, i) => chatImage(file, bytes[i])),
    };
  }

  /**
   * The files the history window's messages carry (sent again, as the window counted
   * them), and those of the message a regenerate answers again: one query for all. An
   * alias that cannot see gets an earlier image as a line of text instead.
   */
  private async pastAttachments(
    begun: BegunTurn,
    answeredId: string | null,
    model: ResolvedModel,
  ): Promise<{ history: Map<string, Attached>; answered: Attached }> {
    // Only messages the window read as carrying files: most turns read none at all.
    const ids = begun.history.filter((m) => m.role === 'user' && m.attached).map((m) => m.id);
    if (answeredId) ids.push(answeredId);
    const carried = await this.files.attachedTo(ids);
    const seeing = model.vision === true;
    const history = new Map<string, Attached>();
    let answered = NOTHING_ATTACHED;
    for (const [messageId, files] of carried) {
      const read = await this.withBytes(files, seeing);
      if (messageId === answeredId) answered = read;
      else history.set(messageId, read);
    }
    return { history, answered };
  }

  /** The MCP tools the turn may call: the send's patterns, else the conversation's. */
  private serverToolsOf(input: TurnInput, conversation: ClaimedConversation): ServerToolSet | null {
    const patterns = input.serverTools ?? conversation.serverTools;
    return patterns.length > 0 ? this.serverTools.resolve(patterns) : null;
  }

  /** The last server tool step a turn may take offers the tools but lets none be called. */
  private toolChoiceOf(input: TurnInput, tools: ToolDefinition[]): ToolChoice | undefined {
    if ((input.handover?.step ?? 0) >= this.config.get('TOOL_MAX_STEPS')) return 'none';
    return input.toolChoice && chosenTool(input.toolChoice, tools);
  }

  /** A concurrent request with the same key stored its turn first: answer with that one. */
  private async replayRace(
    ownerId: string,
    input: TurnInput,
    conversationId: string,
    idempotencyKey: string,
    hash: string | null,
  ): Promise<Turn> {
    const first = await this.turns.findByIdempotencyKey(conversationId, idempotencyKey);
    if (!first) throw new ConversationBusyException();
    return this.replay(ownerId, input, first.id, first.requestHash, hash);
  }

  /**
   * The turn an Idempotency-Key already started: live if it runs here, else as stored. A
   * reply that failed for a reason that can pass (provider or database down, its process
   * stopped) is generated again in place: a new reply to the stored user message, as a
   * regenerate makes, so a retry never stores the user message twice.
   */
  private async replay(
    ownerId: string,
    input: TurnInput,
    keyedMessageId: string,
    storedHash: string | null,
    hash: string | null,
  ): Promise<Turn> {
    if (storedHash !== hash) {
      throw new AppException(
        'idempotency_key_reused',
        'This Idempotency-Key was already used with a different body; use a new key for a new message',
      );
    }
    const found = await this.turns.findTurn(keyedMessageId);
    const assistant = found?.assistantMessage;
    if (!found || !assistant) throw new ConversationBusyException();
    const live = this.running.get(assistant.conversationId);
    if (live?.assistantMessageId === assistant.id) return live;
    // Running on another process: answer once it has finished there.
    const settled = assistant.status === 'streaming' ? await this.settled(assistant.id) : assistant;
    if (settled.status === 'streaming') throw new ConversationBusyException();
    const { userMessage } = found;
    if (settled.errorCode && isErrorCode(settled.errorCode) && isTransient(settled.errorCode)) {
      return this.start(ownerId, settled.conversationId, {
        ...input,
        message: null,
        branch: { anchor: 'regenerate', messageId: userMessage.id },
        // The key stays on the message that holds it; the new reply is found from there.
        idempotencyKey: undefined,
      });
    }
    const failure = settled.errorCode ? storedFailure(settled) : null;
    const messageIds = { userMessageId: userMessage.id, assistantMessageId: settled.id };
    const outcome = {
      userMessage,
      assistantMessage: settled,
      failure: failure && turnFailure(failure, messageIds),
    };
    return finishedTurn(outcome, await this.turns.findStreamMarks(settled.id));
  }

  /**
   * The reply once it is no longer `streaming`: finished by its process, or finalised by a
   * sweep when that process died. Polls the row; gives up (returning it as it is) after the
   * longest a reply can take to be settled by either.
   */
  async settled(turnId: string): Promise<Message> {
    const giveUpAt =
      Date.now() + this.config.get('GENERATION_MAX_MS') + this.config.get('PROCESS_DEAD_AFTER_MS');
    for (;;) {
      const message = await this.turns.findMessage(turnId);
      if (!message) throw new ConversationBusyException();
      if (message.status !== 'streaming' || Date.now() > giveUpAt) return message;
      await sleep(SETTLE_POLL_MS);
    }
  }

  private async run(turn: Turn, userMessage: Message, request: TurnRequest): Promise<void> {
    const deadlineMs = this.config.get('GENERATION_MAX_MS');
    const deadline = setTimeout(
      () =>
        turn.stop(
          new AppException(
            'generation_timeout',
            `The reply took longer than GENERATION_MAX_MS (${deadlineMs} ms)`,
          ),
        ),
      deadlineMs,
    );
    let outcome: TurnOutcome;
    try {
      const reply = await this.generate(turn, request).finally(() => clearTimeout(deadline));
      const serverCalls = serverStep(reply, request.serverTools);
      if (serverCalls) {
        outcome = await this.finish(turn, userMessage, reply, request, false);
        this.report(turn, outcome, reply, request);
        if (!outcome.failure)
          outcome = await this.nextStep(turn, userMessage, request, serverCalls);
      } else {
        outcome = await this.finish(turn, userMessage, reply, request);
        await this.remember(request, reply, outcome);
        this.report(turn, outcome, reply, request);
      }
    } catch (error) {
      // A turn always ends, and gives its claim back, whatever failed on the way.
      const { correlationId, conversationId } = { ...request, ...turn };
      this.logger.error({ err: error, correlationId, conversationId }, 'turn failed unexpectedly');
      const failure = new AppException('internal_error', 'The reply failed on our side');
      await this.lease.release(conversationId, turn.assistantMessageId).catch(() => undefined);
      outcome = { userMessage, assistantMessage: null, failure };
    }
    const { failure } = outcome;
    const messageIds = {
      userMessageId: userMessage.id,
      assistantMessageId: turn.assistantMessageId,
    };
    turn.end({ ...outcome, failure: failure && turnFailure(failure, messageIds) });
    this.nameConversation(turn, outcome);
  }

  /**
   * A server tool step: the reply that called the tools is stored (waiting) and keeps the
   * conversation; the runner calls them, then the next step runs as a turn of its own that
   * stores the results and takes the conversation over. This turn's listeners follow it:
   * they get its events, and its end as this turn's.
   */
  private async nextStep(
    turn: Turn,
    userMessage: Message,
    request: TurnRequest,
    calls: ToolCall[],
  ): Promise<TurnOutcome> {
    this.lease.letGo(turn);
    const { conversationId, assistantMessageId } = turn;
    const results = await runServerTools(turn, calls, request.serverTools as ServerToolSet);
    let next: Turn;
    try {
      if (turn.signal.aborted) throw turn.signal.reason;
      next = await this.start(request.ownerId, conversationId, {
        ...request.input,
        ...{ message: null, branch: undefined, name: undefined, metadata: undefined },
        ...{ idempotencyKey: undefined, toolResults: { messageId: assistantMessageId, results } },
        handover: { fromTurnId: assistantMessageId, step: (request.input.handover?.step ?? 0) + 1 },
      });
    } catch (error) {
      await this.lease.release(conversationId, assistantMessageId).catch(() => undefined);
      const failure = error instanceof AppException ? error : this.toFailure(error, request);
      return { userMessage, assistantMessage: null, failure };
    }
    next.listen(0, (_, event) => {
      if (event.type !== 'message.completed' && event.type !== 'error') turn.push(event);
    });
    return { ...(await next.outcome), userMessage };
  }

  /**
   * After a stored reply, an untitled conversation is named in the background; the title
   * is announced on the conversation's stream if one is open then (else it is in the list).
   */
  private nameConversation(turn: Turn, outcome: TurnOutcome): void {
    const { userMessage, assistantMessage, failure } = outcome;
    if (failure || !assistantMessage) return;
    const { conversationId } = turn;
    this.titles.afterReply(
      {
        conversationId,
        alias: turn.alias,
        userText: userMessage.content,
        replyText: assistantMessage.content,
      },
      (conversation) => {
        const open = this.running.get(conversationId);
        if (open && !open.done) open.push({ type: 'conversation.updated', conversation });
      },
    );
  }

  /**
   * A stored complete reply of the alias asked for goes into the response cache, before the
   * turn ends, so the next identical turn finds it.
   */
  private async remember(request: TurnRequest, reply: Reply, outcome: TurnOutcome) {
    const stored = outcome.assistantMessage;
    if (!request.cacheKey || reply.cached || outcome.failure || !stored) return;
    if (reply.tried.length > 0 || stored.status !== 'complete') return;
    await this.cache.put(request.cacheKey, {
      content: reply.content,
      reasoning: reply.reasoning,
      finishReason: reply.finishReason,
      usage: {
        promptTokens: stored.promptTokens ?? request.promptTokens,
        completionTokens: stored.completionTokens ?? 0,
        estimated: stored.usageEstimated,
      },
      upstreamModel: reply.upstreamModel,
    });
  }

  /** The cache's reply as the provider's would come: reasoning, then the text in pieces. */
  private replayCached(turn: Turn, request: TurnRequest, hit: CachedReply): Reply {
    if (hit.reasoning) turn.push({ type: 'message.reasoning', delta: hit.reasoning });
    let ttftMs: number | null = null;
    for (const delta of pieces(hit.content, CACHED_PIECE_CHARS)) {
      ttftMs ??= Math.round(performance.now() - request.startedAt);
      turn.push({ type: 'message.delta', delta });
    }
    const { promptTokens, completionTokens, estimated } = hit.usage;
    return {
      alias: request.model.alias,
      tried: [],
      content: turn.text,
      reasoning: hit.reasoning,
      toolCalls: [],
      upstreamModel: hit.upstreamModel ?? null,
      finishReason: hit.finishReason,
      usage: estimated ? null : { promptTokens, completionTokens },
      ttftMs,
      failure: null,
      cached: true,
    };
  }

  /** Calls the provider and forwards its text as events, answer and reasoning apart. */
  private async generate(turn: Turn, request: TurnRequest): Promise<Reply> {
    const hit = request.cacheKey ? await this.cache.get(request.cacheKey) : undefined;
    if (hit && !turn.signal.aborted) return this.replayCached(turn, request, hit);
    // The turn keeps the text (its events refer to it): the splitter keeps none.
    const splitter = new ThinkSplitter(false);
    const emit = (piece: { content: string; reasoning: string }): void => {
      if (piece.reasoning) turn.push({ type: 'message.reasoning', delta: piece.reasoning });
      if (piece.content) turn.push({ type: 'message.delta', delta: piece.content });
    };
    const reply: Omit<Reply, 'content' | 'reasoning'> = {
      alias: request.model.alias,
      tried: [],
      toolCalls: [],
      upstreamModel: null,
      finishReason: null,
      usage: null,
      ttftMs: null,
      failure: null,
    };
    try {
      const onFallback = (tried: TriedAlias): void => void reply.tried.push(tried);
      await this.llm.deliver({ ...request, signal: turn.signal, onFallback }, (chunk) => {
        if (chunk.type === 'delta') {
          if (reply.ttftMs === null) {
            reply.ttftMs = Math.round(performance.now() - request.startedAt);
            // No retry follows the first chunk, so nothing reads the prompt again: emptied (the
            // one array LlmService and the adapter were given), a reply does not hold its history.
            request.messages.length = 0;
          }
          emit(splitter.feed(chunk.text));
        } else if (chunk.type === 'done') {
          Object.assign(reply, {
            toolCalls: chunk.toolCalls ?? [],
            alias: chunk.alias,
            upstreamModel: chunk.upstreamModel,
            finishReason: chunk.finishReason,
            usage: chunk.usage,
          });
        }
      });
    } catch (error) {
      reply.failure = this.toFailure(error, request);
    }
    emit(splitter.end());
    // Calls are announced before the reply is stored, so a stream shows them first.
    if (!reply.failure)
      for (const toolCall of reply.toolCalls)
        turn.push({
          type: 'tool.call',
          assistantMessageId: turn.assistantMessageId,
          toolCall,
          server: request.serverTools?.has(toolCall.name) ?? false,
        });
    const reasoning = turn.reasoning.trim();
    return { ...reply, content: turn.text, reasoning: reasoning.length > 0 ? reasoning : null };
  }

  /** Stores the reply, whatever happened, and releases the claim (unless a tool step keeps it). */
  private async finish(
    turn: Turn,
    userMessage: Message,
    reply: Reply,
    request: TurnRequest,
    release = true,
  ): Promise<TurnOutcome> {
    const { failure } = reply;
    const toolCalls = failure || reply.toolCalls.length === 0 ? null : reply.toolCalls;
    const tokenCount = await countTokensConservativelyAsync(
      toolCalls ? reply.content + JSON.stringify(toolCalls) : reply.content,
    );
    const reasoningTokens = await countTokensConservativelyAsync(reply.reasoning ?? '');
    const record: FinishTurn = {
      conversationId: turn.conversationId,
      turnId: turn.assistantMessageId,
      // A reply that called tools waits for the client's results.
      status: failure?.messageStatus ?? (toolCalls ? 'requires_action' : 'complete'),
      content: reply.content,
      toolCalls,
      reasoning: reply.reasoning,
      tokenCount,
      upstreamModel: reply.upstreamModel,
      promptTokens: reply.usage?.promptTokens ?? request.promptTokens,
      completionTokens: reply.usage?.completionTokens ?? tokenCount + reasoningTokens,
      usageEstimated: reply.usage === null,
      latencyMs: Math.round(performance.now() - request.startedAt),
      ttftMs: reply.ttftMs,
      finishReason: failure ? null : reply.finishReason,
      errorCode: failure?.code ?? null,
      errorMessage: failure?.message ?? null,
      // A fallback that answered is the reply's model; the ones given up are in its manifest.
      alias: reply.alias,
      release,
      context: reply.cached
        ? { ...request.context, cached: true }
        : reply.alias === request.context.model && reply.tried.length === 0
          ? request.context
          : { ...request.context, model: reply.alias, tried: reply.tried },
      streamMarks: streamMarks(turn, reply.reasoning),
    };
    const ids = { correlationId: request.correlationId, conversationId: turn.conversationId };
    try {
      return { userMessage, assistantMessage: await this.store(record, ids), failure };
    } catch (error) {
      const outage = toDatabaseUnavailable(error);
      if (outage) {
        this.logger.error({ err: error, ...ids }, 'could not store the reply; storing it later');
        void this.storeLater(record, ids);
        return { userMessage, assistantMessage: null, failure: failure ?? outage };
      }
      // No retry stores this record: store the turn's end without it, so the claim and
      // the owner's slot are given back now rather than held until the process stops.
      this.logger.error({ err: error, ...ids }, 'could not store the reply; storing it failed');
      const lost = new AppException('internal_error', 'The reply could not be stored');
      const stored = await this.storeFailed(record, lost, ids);
      return { userMessage, assistantMessage: stored, failure: lost };
    }
  }

  /**
   * Writes the reply, retrying with backoff while the database does not answer: the text
   * is in memory and must not be lost to a short outage. Gives up after REPLY_STORE_RETRY_MS,
   * and at once on any other error (bad data, a constraint): no retry can fix those.
   */
  private async store(record: FinishTurn, ids: LineIds, retryMs?: number): Promise<Message> {
    const giveUpAt = Date.now() + (retryMs ?? this.config.get('REPLY_STORE_RETRY_MS'));
    for (let delay = STORE_RETRY_FIRST_MS; ; delay = Math.min(delay * 2, STORE_RETRY_MAX_MS)) {
      try {
        // The text as it was written, not the copy the database sent back.
        const { content, reasoning } = record;
        return { ...(await this.turns.finish(record)), content, reasoning };
      } catch (error) {
        if (!databaseOutage(error) || Date.now() + delay > giveUpAt) throw error;
        this.logger.warn(
          { err: error, ...ids, retryInMs: delay },
          'could not store the reply; retrying',
        );
        await sleep(delay);
      }
    }
  }

  /**
   * After an outage outlasted REPLY_STORE_RETRY_MS: the client has its 503, the reply is
   * stored as soon as the database answers (an idempotent retry then gets it), which also
   * gives the conversation back. Ends with the process (the sweep then finalises it).
   */
  private async storeLater(record: FinishTurn, ids: LineIds): Promise<void> {
    try {
      // Stored late, a tool step goes no further: the conversation is given back.
      await this.store({ ...record, release: true }, ids, Number.MAX_SAFE_INTEGER);
      this.logger.log(ids, 'stored a reply after the database came back');
    } catch {
      const lost = new AppException('internal_error', 'The reply could not be stored');
      await this.storeFailed(record, lost, ids);
    }
  }

  /** The turn's end without its text: failed with `failure`, the claim released. */
  private async storeFailed(
    record: FinishTurn,
    failure: AppException,
    ids: LineIds,
  ): Promise<Message | null> {
    try {
      return await this.store(
        {
          ...record,
          ...{ status: 'failed', content: '', reasoning: null, tokenCount: 0, context: {} },
          ...{ toolCalls: null, release: true },
          ...{ promptTokens: null, completionTokens: null, upstreamModel: null },
          ...{ finishReason: null, errorCode: failure.code, errorMessage: failure.message },
          streamMarks: [],
        },
        ids,
      );
    } catch (error) {
      this.logger.error({ err: error, ...ids }, 'could not store the failed reply either');
      await this.lease.release(record.conversationId, record.turnId).catch(() => undefined);
      return null;
    }
  }

  private toFailure(error: unknown, request: TurnRequest): AppException {
    const { provider } = request.model;
    if (error instanceof LlmException) this.metrics.recordProviderError(provider, error.code);
    if (error instanceof AppException) return error;
    const { correlationId } = request;
    this.logger.error({ err: error, correlationId }, 'turn failed unexpectedly');
    return new AppException('internal_error', 'The reply failed on our side');
  }

  /** One log line and the metrics of a finished turn. */
  private report(turn: Turn, outcome: TurnOutcome, reply: Reply, request: TurnRequest): void {
    const stored = outcome.assistantMessage;
    const record = {
      alias: reply.alias,
      outcome: outcome.failure?.code ?? 'complete',
      latencyMs: stored?.latencyMs ?? Math.round(performance.now() - request.startedAt),
      ttftMs: reply.ttftMs,
      promptTokens: stored?.promptTokens ?? request.promptTokens,
      completionTokens: stored?.completionTokens ?? 0,
    };
    this.metrics.recordTurn(record);
    this.log.pino.info(
      {
        context: TurnRunner.name,
        correlationId: request.correlationId,
        conversationId: turn.conversationId,
        upstreamModel: reply.upstreamModel,
        ...record,
        ...(this.config.get('LOG_MESSAGES') && {
          message: outcome.userMessage.content,
          reply: reply.content,
        }),
      },
      'chat turn',
    );
  }
}
