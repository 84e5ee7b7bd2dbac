import { Injectable } from '@nestjs/common';

import { ChatService, NoActiveGenerationException, turnEventSource } from '../chat';
import type { TurnEventSource, TurnInput } from '../chat';
import { AppException, ValidationFailedException } from '../common/errors/app.exception';
import { ConversationBusyException } from '../history/conversation-busy.exception';
import { toContextManifest } from '../history/context-manifest';
import { HistoryRepository } from '../history/history.repository';
import { AppConfig } from '../config/app-config';
import { FilesService } from '../files';
import { LlmService } from '../llm/llm.service';
import type { CreateResponseDto } from './dto/create-response.dto';
import type { DeletedObjectDto, ItemListDto, ResponseObjectDto } from './dto/response.dto';
import type { ItemPageQuery, RetrieveResponseQuery } from './dto/response-query.dto';
import { ConversationItems } from './conversation-items';
import {
  readInput,
  refuseUnsupported,
  splitForTurn,
  splitToolOutputs,
  ToolOutputs,
  toTurnToolChoice,
  toTurnTools,
} from './response-input';
import { parseItemId, parseOpenAiId, replyOfCall, toOpenAiId } from './response-ids';
import { responseEventSource } from './response-events';
import {
  fromMessage,
  ReplyView,
  ResponseEcho,
  STORED_ECHO,
  toItems,
  toResponseObject,
} from './response.mapper';
import { ResponsesRepository, StoredReply } from './responses.repository';
import { StatelessResponses } from './stateless-responses';
import { storedReplySource } from './stored-replay';

/** What a create or a retrieve answers: the object, or its events. */
export type ResponseAnswer =
  { kind: 'object'; response: ResponseObjectDto } | { kind: 'stream'; source: TurnEventSource };

/** The request's own side of a create: who asks, their key, their request's id and signal. */
export interface CreateCall {
  owner: string;
  correlationId: string;
  idempotencyKey?: string;
  /** Aborted when the client leaves: only a stateless response stops then. */
  signal: AbortSignal;
}

/** Where a stored response goes: its conversation, and where on its tree. */
interface Target {
  conversationId: string;
  branch?: TurnInput['branch'];
  systemPrompt: string | null;
  previousResponseId: string | null;
}

const seconds = (date: Date): number => Math.floor(date.getTime() / 1000);

function echoOf(
  dto: CreateResponseDto,
  target: { systemPrompt: string | null; previousResponseId: string | null },
): ResponseEcho {
  return {
    instructions: target.systemPrompt,
    metadata: dto.metadata ?? null,
    previousResponseId: target.previousResponseId,
    temperature: dto.temperature ?? null,
    topP: dto.top_p ?? null,
    maxOutputTokens: dto.max_output_tokens ?? null,
    background: dto.background ?? false,
    store: dto.store ?? true,
    format: dto.text?.format,
    truncation: dto.truncation ?? 'auto',
    tools: dto.tools ?? [],
    toolChoice: dto.tool_choice ?? 'auto',
  };
}

/** What is stored of a request, read back with its reply. */
function storedEcho(reply: StoredReply): ResponseEcho {
  return {
    ...STORED_ECHO,
    instructions: reply.systemPrompt,
    metadata: (reply.requestMetadata as Record<string, string> | null) ?? null,
    previousResponseId: reply.previousReplyId,
  };
}

function turnParams(dto: CreateResponseDto): TurnInput['params'] {
  const format = dto.text?.format;
  return {
    ...(dto.temperature != null && { temperature: dto.temperature }),
    ...(dto.top_p != null && { topP: dto.top_p }),
    ...(dto.max_output_tokens != null && { maxTokens: dto.max_output_tokens }),
    ...(format &&
      format.type !== 'text' && {
        responseFormat:
          format.type === 'json_schema'
            ? {
                type: 'json_schema',
                json_schema: {
                  name: format.name ?? 'response',
                  schema: format.schema ?? {},
                  strict: format.strict,
                  description: format.description,
                },
              }
            : { type: 'json_object' },
      }),
  };
}

type Turn = Awaited<ReturnType<ChatService['startTurn']>>;

/** What every turn of this door takes from the request: model, params, tools, mode, keys. */
function turnOptions(dto: CreateResponseDto, call: CreateCall) {
  const tools = toTurnTools(dto.tools);
  const toolChoice = toTurnToolChoice(dto.tool_choice);
  return {
    model: dto.model,
    params: turnParams(dto),
    ...(tools && { tools }),
    ...(toolChoice && { toolChoice }),
    // A background reply streams upstream: checkpointed as it grows, cancelled with its text so far.
    mode: dto.stream || dto.background ? ('stream' as const) : ('complete' as const),
    idempotencyKey: call.idempotencyKey,
    correlationId: call.correlationId,
  };
}

/**
 * OpenAI's Responses API on our turns: a stored response is a turn of one of the owner's
 * conversations (its reply's id is the response's), run by ChatService like every other
 * door's, with the same claim, limits, idempotency, events and manifest.
 */
@Injectable()
export class ResponsesService {
  constructor(
    private readonly chat: ChatService,
    private readonly items: ConversationItems,
    private readonly repository: ResponsesRepository,
    private readonly stateless: StatelessResponses,
    private readonly llm: LlmService,
    private readonly config: AppConfig,
    private readonly files: FilesService,
    private readonly history: HistoryRepository,
  ) {}

  async create(dto: CreateResponseDto, call: CreateCall): Promise<ResponseAnswer> {
    refuseUnsupported(dto);
    if (dto.model !== undefined && !this.llm.isKnown(dto.model)) {
      throw new AppException(
        'model_not_found',
        `The model '${dto.model}' does not exist; GET /v1/models lists the aliases served here`,
      );
    }
    if (dto.previous_response_id && dto.conversation)
      throw new ValidationFailedException([
        { field: 'conversation', errors: ['send previous_response_id or conversation, not both'] },
      ]);
    const entries = readInput(dto.input);
    const toolOutputs = splitToolOutputs(entries);
    if (toolOutputs) return this.answerCalls(dto, toolOutputs, call);
    const messages = await this.items.resolve(call.owner, entries);
    if (dto.store === false) {
      this.stateless.refuse(dto);
      const model = this.llm.resolve(dto.model).alias;
      const echo = echoOf(dto, {
        systemPrompt: dto.instructions ?? null,
        previousResponseId: null,
      });
      const { owner, signal, correlationId } = call;
      return this.stateless.answer(dto, messages, echo, { owner, model, signal, correlationId });
    }
    const parts = splitForTurn(messages);
    const { ids: attachments, stored } = await this.files.fromRefs(call.owner, parts.files);
    let target: Target;
    let turn: Turn;
    try {
      target = await this.target(
        dto,
        parts.earlier,
        [...(dto.instructions ? [dto.instructions] : []), ...parts.system],
        call,
      );
      turn = await this.chat.startTurn(call.owner, target.conversationId, {
        message: parts.message,
        ...turnOptions(dto, call),
        ...(dto.metadata && { metadata: dto.metadata }),
        ...(target.branch && { branch: target.branch }),
        ...(attachments.length > 0 && { attachments }),
      });
    } catch (error) {
      // The inline files were stored for this turn only: a refused turn leaves none behind.
      await this.files.deleteAll(call.owner, stored);
      throw error;
    }
    return this.answer(turn, dto, echoOf(dto, target), call);
  }

  /**
   * function_call_output items: a tool-results turn on the reply that called the tools,
   * found by previous_response_id or by the `fc_` ids of the calls sent back.
   */
  private async answerCalls(
    dto: CreateResponseDto,
    { calls, outputs }: ToolOutputs,
    call: CreateCall,
  ): Promise<ResponseAnswer> {
    if (dto.store === false || dto.conversation)
      throw new AppException(
        'unsupported_input',
        'function_call_output items continue a stored response: send them with previous_response_id (store true, no conversation)',
      );
    const waitingId =
      dto.previous_response_id ?? (await this.waitingFor(call.owner, calls, outputs));
    if (!waitingId)
      throw new AppException(
        'unsupported_input',
        'function_call_output items answer the response that called the tools: send its id as previous_response_id',
      );
    const waiting = await this.reply(call.owner, waitingId);
    const stored = new Set((waiting.toolCalls ?? []).map((c) => c.id));
    const unknown = calls.find((c) => c.callId !== undefined && !stored.has(c.callId));
    if (unknown)
      throw new AppException(
        'unknown_tool_call',
        `The response made no function call "${unknown.callId}"; its calls are: ${[...stored].join(', ') || 'none'}`,
      );
    const results = outputs.map((o) => ({ toolCallId: o.callId, output: o.output }));
    const turn = await this.chat.startTurn(call.owner, waiting.conversationId, {
      message: null,
      toolResults: { messageId: waiting.id, results },
      ...turnOptions(dto, call),
    });
    const echo = echoOf(dto, {
      systemPrompt: waiting.systemPrompt,
      previousResponseId: waiting.id,
    });
    return this.answer(turn, dto, echo, call);
  }

  /** The reply that made the calls: named by a call's `fc_` id, else found by a call id. */
  private async waitingFor(
    owner: string,
    calls: ToolOutputs['calls'],
    outputs: ToolOutputs['outputs'],
  ): Promise<string | undefined> {
    const itemId = calls.find((c) => c.itemId?.toLowerCase().startsWith('fc_'))?.itemId;
    if (itemId) return replyOfCall(itemId);
    return this.repository.findWaitingForCall(owner, outputs[0].callId);
  }

  /** A started turn as the create answers it: streamed, in the background, or whole. */
  private async answer(
    turn: Turn,
    dto: CreateResponseDto,
    echo: ResponseEcho,
    call: CreateCall,
  ): Promise<ResponseAnswer> {
    const start: ReplyView = {
      id: turn.assistantMessageId,
      conversationId: turn.conversationId,
      status: 'in_progress',
      ...{ text: '', reasoning: null, model: turn.alias, createdAt: seconds(turn.startedAt) },
      ...{ completedAt: null, usage: null, error: null, toolCalls: [] },
    };
    if (dto.stream) {
      const frames = turnEventSource(turn, 0, call.correlationId);
      return { kind: 'stream', source: responseEventSource(frames, start, echo) };
    }
    if (dto.background) return { kind: 'object', response: toResponseObject(start, echo) };
    const { assistantMessage, failure } = await turn.outcome;
    if (!assistantMessage || (failure && failure.messageStatus !== 'cancelled'))
      throw failure ?? new AppException('internal_error', 'The reply was not stored');
    return { kind: 'object', response: toResponseObject(fromMessage(assistantMessage), echo) };
  }

  /** The conversation and anchor of a stored response; earlier input items are stored first. */
  private async target(
    dto: CreateResponseDto,
    earlier: Parameters<ConversationItems['append']>[2],
    system: string[],
    call: CreateCall,
  ): Promise<Target> {
    const key = call.idempotencyKey;
    if (dto.previous_response_id) {
      const previous = await this.reply(call.owner, dto.previous_response_id);
      const { conversationId } = previous;
      const keyed = key ? await this.repository.findKeyed(conversationId, key) : undefined;
      const after = keyed
        ? keyed.parentId
        : ((await this.items.append(call.owner, conversationId, earlier, previous.id)) ??
          previous.id);
      return {
        conversationId,
        branch: after ? { anchor: 'after', messageId: after } : undefined,
        systemPrompt: previous.systemPrompt,
        previousResponseId: previous.id,
      };
    }
    if (dto.conversation) {
      const ref = typeof dto.conversation === 'string' ? dto.conversation : dto.conversation.id;
      const conversationId = parseOpenAiId('conversation', ref);
      // No read before the turn: its claim is the owner check (404). The system prompt is
      // shown when the response is retrieved (read with it), not in this answer.
      const systemPrompt = null;
      const keyed = key ? await this.repository.findKeyed(conversationId, key) : undefined;
      if (!keyed) await this.items.append(call.owner, conversationId, earlier);
      return { conversationId, systemPrompt, previousResponseId: null };
    }
    return this.newConversation(dto, earlier, system, call);
  }

  /** A response that names no conversation starts one (found again by its key on a retry). */
  private async newConversation(
    dto: CreateResponseDto,
    earlier: Parameters<ConversationItems['append']>[2],
    system: string[],
    call: CreateCall,
  ): Promise<Target> {
    const { owner, idempotencyKey: key } = call;
    const systemPrompt = system.length > 0 ? system.join('\n\n') : null;
    const found = key ? await this.repository.findKeyedConversation(owner, key) : undefined;
    if (found) {
      const conversation = await this.items.conversation(owner, found);
      return {
        conversationId: found,
        systemPrompt: conversation.systemPrompt,
        previousResponseId: null,
      };
    }
    const created = await this.items.create(owner, { systemPrompt, model: dto.model ?? null });
    const conversationId = key ? await this.repository.recordKey(owner, key, created) : created;
    if (conversationId !== created) {
      // A concurrent retry with the same key recorded its conversation first: ours goes.
      await this.items.remove(owner, created);
    } else {
      await this.items.append(owner, conversationId, earlier);
    }
    return { conversationId, systemPrompt, previousResponseId: null };
  }

  /** The owner's stored response; another owner's is not found. */
  private async reply(owner: string, id: string): Promise<StoredReply> {
    const reply = await this.repository.findReply(owner, parseOpenAiId('response', id));
    if (!reply) throw new AppException('response_not_found', `No response found with id '${id}'`);
    return reply;
  }

  async retrieve(owner: string, id: string, query: RetrieveResponseQuery): Promise<ResponseAnswer> {
    let reply = await this.reply(owner, id);
    const echo = storedEcho(reply);
    if (!query.stream)
      return { kind: 'object', response: toResponseObject(fromMessage(reply), echo) };
    const start: ReplyView = {
      ...fromMessage(reply),
      status: 'in_progress',
      text: '',
      reasoning: null,
      usage: null,
      completedAt: null,
    };
    const after = query.starting_after ?? -1;
    if (reply.status === 'streaming') {
      try {
        const { turn } = await this.chat.follow(owner, reply.conversationId, 0);
        if (turn.assistantMessageId === reply.id)
          return {
            kind: 'stream',
            source: responseEventSource(turnEventSource(turn, 0), start, echo, after),
          };
      } catch (error) {
        if (!(error instanceof NoActiveGenerationException)) throw error;
      }
      reply = await this.reply(owner, id);
    }
    return {
      kind: 'stream',
      source: responseEventSource(storedReplySource(reply), start, echo, after),
    };
  }

  /** Stops the response, whichever replica runs it; a finished one is answered as it is. */
  async cancel(owner: string, id: string): Promise<ResponseObjectDto> {
    let reply = await this.reply(owner, id);
    if (reply.status === 'streaming') {
      await this.chat.cancel(owner, reply.conversationId).catch((error: unknown) => {
        if (!(error instanceof NoActiveGenerationException)) throw error;
      });
      reply = await this.reply(owner, id);
    }
    return toResponseObject(fromMessage(reply), storedEcho(reply));
  }

  /** Deletes the reply, and its user message when no other reply answers it. */
  async delete(owner: string, id: string): Promise<DeletedObjectDto> {
    const reply = await this.reply(owner, id);
    const outcome = await this.repository.deleteMessage(owner, reply.conversationId, reply.id);
    if (outcome === 'busy') throw new ConversationBusyException();
    if (outcome === 'has_replies')
      throw new AppException(
        'message_has_replies',
        `Response '${id}' is continued by later responses; delete those first (only the end of a branch can be deleted)`,
      );
    if (reply.parentId)
      await this.repository.deleteMessage(owner, reply.conversationId, reply.parentId);
    return { id: toOpenAiId('response', reply.id), object: 'response.deleted', deleted: true };
  }

  /** What the response's prompt held (its manifest): the messages up to its user message. */
  async inputItems(owner: string, id: string, query: ItemPageQuery): Promise<ItemListDto> {
    const reply = await this.reply(owner, id);
    const manifest = toContextManifest(reply.context);
    const userMessageId = manifest?.userMessage.messageId ?? reply.parentId;
    if (!userMessageId)
      return { object: 'list', data: [], first_id: null, last_id: null, has_more: false };
    const count = (manifest?.history.messages ?? 0) + 1;
    const rows = await this.repository.promptMessages(reply.conversationId, userMessageId, count);
    const ordered = query.order === 'asc' ? rows.reverse() : rows;
    const from = query.after
      ? ordered.findIndex((row) => row.id === parseItemId(query.after ?? '')) + 1
      : 0;
    const shown = ordered.slice(from, from + query.limit);
    const carried = await this.history.attachmentsOf(
      shown.filter((row) => row.role === 'user').map((row) => row.id),
    );
    const page = shown.flatMap((row) => toItems({ ...row, attachments: carried.get(row.id) }));
    return {
      object: 'list',
      data: page,
      first_id: page[0]?.id ?? null,
      last_id: page.at(-1)?.id ?? null,
      has_more: from + query.limit < ordered.length,
    };
  }

  get heartbeatMs(): number {
    return this.config.get('SSE_HEARTBEAT_MS');
  }
}
