import type { FieldError } from '../common/errors/app.exception';
import { requestedFormat } from '../llm/generation-params';
import type {
  ChatImage,
  ChatMessage,
  GenerationParams,
  ResponseFormat,
  ToolCall,
  ToolChoice,
  ToolDefinition,
} from '../llm/llm.types';
import type { ModelAlias } from '../llm/model-registry';
import type { CarriedFiles } from './completion-files';
import {
  type ChatCompletionMessageDto,
  type ChatCompletionRequestDto,
  IMAGE_DATA_URL,
  type MessageContent,
  type ToolChoiceDto,
  type ToolDto,
} from './dto/chat-completion-request.dto';
import type {
  ChatCompletionChunkDto,
  ChatCompletionDto,
  ChunkDeltaDto,
  CompletionUsageDto,
  OpenAiModelDto,
  ToolCallResponseDto,
} from './dto/chat-completion-response.dto';

/** What is sent upstream for one request, in our own terms. */
export interface CompletionInput {
  alias: string;
  messages: ChatMessage[];
  /** The alias's defaults overlaid with the request's. */
  params: GenerationParams;
  responseFormat?: ResponseFormat;
  stop?: string[];
  tools?: ToolDefinition[];
  toolChoice?: ToolChoice;
  parallelToolCalls?: boolean;
}

export interface CompletionUsage {
  promptTokens: number;
  completionTokens: number;
  /** Counted here because the provider reported none. */
  estimated: boolean;
}

/** A whole reply, as answered and as cached. */
export interface CompletionReply {
  content: string;
  reasoning: string | null;
  finishReason: string | null;
  usage: CompletionUsage;
  /** The tools the model called; absent when none. */
  toolCalls?: ToolCall[];
}

/** A piece of a tool call as streamed: the first of call `index` has its id and name. */
export interface ToolCallEvent {
  type: 'tool_call';
  index: number;
  id?: string;
  name?: string;
  arguments: string;
}

export type CompletionEvent =
  | { type: 'delta'; content: string; reasoning: string }
  | ToolCallEvent
  | { type: 'done'; reply: CompletionReply };

/** What every chunk and completion of one request repeats. */
export interface CompletionMeta {
  id: string;
  created: number;
  model: string;
}

/**
 * Parts are joined with a newline, as vLLM does: separate parts are separate thoughts, and
 * gluing "Describe" to "this" would change the text.
 */
function textOf(content: MessageContent | null | undefined): string {
  if (content == null) return ''; // an assistant's turn that only called tools
  if (typeof content === 'string') return content;
  return content.flatMap((part) => (part.type === 'text' ? [part.text] : [])).join('\n');
}

/** A user message's image parts (validated data URLs) as images for the provider. */
function imagesOf(content: MessageContent | null | undefined): ChatImage[] {
  if (content == null || typeof content === 'string') return [];
  return content.flatMap((part) => {
    if (part.type !== 'image_url') return [];
    const [, mimeType, data] = IMAGE_DATA_URL.exec(part.image_url.url) ?? [];
    return mimeType ? [{ mimeType, data }] : [];
  });
}

/**
 * The request's messages in our terms; `carried` holds what the files of user messages
 * (by index) add: their documents' text, and their images in part order.
 */
export function toChatMessages(
  messages: ChatCompletionMessageDto[],
  carried: Map<number, CarriedFiles> = new Map(),
): ChatMessage[] {
  return messages.map((m, index): ChatMessage => {
    const files = carried.get(index);
    if (files)
      return { role: 'user', content: textOf(m.content) + files.content, images: files.images };
    const content = textOf(m.content);
    if (m.role === 'tool') return { role: 'tool', content, toolCallId: m.tool_call_id };
    if (m.role === 'assistant' && m.tool_calls?.length) {
      const toolCalls = m.tool_calls.map((call) => ({
        id: call.id,
        name: call.function.name,
        arguments: call.function.arguments,
      }));
      return { role: 'assistant', content, toolCalls };
    }
    const images = m.role === 'user' ? imagesOf(m.content) : [];
    if (images.length > 0) return { role: 'user', content, images };
    return { role: m.role === 'developer' ? 'system' : m.role, content };
  });
}

function toToolDefinition({ function: fn }: ToolDto): ToolDefinition {
  return {
    name: fn.name,
    ...(fn.description !== undefined && { description: fn.description }),
    ...(fn.parameters !== undefined && { parameters: fn.parameters }),
    ...(fn.strict !== undefined && { strict: fn.strict }),
  };
}

function toToolChoice(choice: ToolChoiceDto): ToolChoice {
  return typeof choice === 'string' ? choice : { name: choice.function.name };
}

/**
 * What the per-field rules cannot see: tools and messages against each other, as OpenAI
 * checks them. A tool message answers a call of the assistant message right before its
 * run of tool messages; every such call is answered before anything else is said; a
 * named tool_choice names an offered tool.
 */
export function toolProblems(dto: ChatCompletionRequestDto): FieldError[] {
  const problems: FieldError[] = [];
  const problem = (field: string, error: string): void => {
    problems.push({ field, errors: [error] });
  };
  const names = new Set<string>();
  for (const [i, tool] of (dto.tools ?? []).entries()) {
    if (names.has(tool.function.name))
      problem(`tools.${i}.function.name`, `function "${tool.function.name}" is defined twice`);
    names.add(tool.function.name);
  }
  const choice = dto.tool_choice;
  if (choice !== undefined && choice !== 'auto' && choice !== 'none' && names.size === 0)
    problem('tool_choice', 'tool_choice "required" or a named function needs tools');
  else if (typeof choice === 'object' && !names.has(choice.function.name))
    problem(
      'tool_choice',
      `tool_choice names function "${choice.function.name}", which is not among tools (${[...names].join(', ')})`,
    );
  let open: { at: number; waiting: Set<string> } | null = null;
  const unanswered = (): void => {
    if (open && open.waiting.size > 0)
      problem(
        `messages.${open.at}.tool_calls`,
        `the assistant message's tool calls ${[...open.waiting].join(', ')} have no tool message answering them; send one per call (role "tool", tool_call_id) right after it`,
      );
  };
  for (const [i, message] of dto.messages.entries()) {
    if (message.role === 'tool') {
      const id = message.tool_call_id ?? '';
      if (open?.waiting.delete(id)) continue;
      problem(
        `messages.${i}.tool_call_id`,
        open
          ? `"${id}" answers no unanswered call of the assistant message at messages.${open.at}`
          : `a tool message must follow an assistant message with tool_calls; "${id}" answers no call before it`,
      );
      continue;
    }
    unanswered();
    open =
      message.role === 'assistant' && message.tool_calls?.length
        ? { at: i, waiting: new Set(message.tool_calls.map((call) => call.id)) }
        : null;
  }
  unanswered();
  return problems;
}

/** The sampling params the request sets (nulls count as unset, as OpenAI treats them). */
export function requestParams(dto: ChatCompletionRequestDto): GenerationParams {
  const maxTokens = dto.max_completion_tokens ?? dto.max_tokens;
  const params: GenerationParams = {};
  if (dto.temperature != null) params.temperature = dto.temperature;
  if (dto.top_p != null) params.topP = dto.top_p;
  if (maxTokens != null) params.maxTokens = maxTokens;
  if (dto.seed != null) params.seed = dto.seed;
  if (dto.frequency_penalty != null) params.frequencyPenalty = dto.frequency_penalty;
  if (dto.presence_penalty != null) params.presencePenalty = dto.presence_penalty;
  return params;
}

export function toCompletionInput(
  dto: ChatCompletionRequestDto,
  alias: ModelAlias,
  carried?: Map<number, CarriedFiles>,
): CompletionInput {
  const stop = dto.stop == null ? undefined : [dto.stop].flat();
  const responseFormat = requestedFormat({ responseFormat: dto.response_format });
  const tools = dto.tools?.map(toToolDefinition);
  const offered = tools !== undefined && tools.length > 0;
  return {
    alias: alias.alias,
    messages: toChatMessages(dto.messages, carried),
    params: { ...alias.params, ...requestParams(dto) },
    ...(responseFormat && { responseFormat }),
    ...(stop && { stop }),
    // Without tools, a choice means nothing to send (and providers refuse one).
    ...(offered && { tools }),
    ...(offered && dto.tool_choice !== undefined && { toolChoice: toToolChoice(dto.tool_choice) }),
    ...(offered &&
      dto.parallel_tool_calls !== undefined && { parallelToolCalls: dto.parallel_tool_calls }),
  };
}

function toToolCallDto(call: ToolCall): ToolCallResponseDto {
  return {
    id: call.id,
    type: 'function',
    function: { name: call.name, arguments: call.arguments },
  };
}

export function toUsageDto(usage: CompletionUsage): CompletionUsageDto {
  return {
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    total_tokens: usage.promptTokens + usage.completionTokens,
    ...(usage.estimated && { estimated: true }),
  };
}

export function toChatCompletion(meta: CompletionMeta, reply: CompletionReply): ChatCompletionDto {
  return {
    id: meta.id,
    object: 'chat.completion',
    created: meta.created,
    model: meta.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          // OpenAI's shape for a reply that only called tools.
          content: reply.toolCalls?.length && reply.content === '' ? null : reply.content,
          ...(reply.reasoning !== null && { reasoning_content: reply.reasoning }),
          ...(reply.toolCalls?.length && { tool_calls: reply.toolCalls.map(toToolCallDto) }),
        },
        finish_reason: reply.finishReason,
        logprobs: null,
      },
    ],
    usage: toUsageDto(reply.usage),
  };
}

/**
 * The chunks a streamed event becomes. Like OpenAI: the first chunk names the role, the
 * finish reason comes in a chunk of its own, and with `include_usage` every chunk has
 * `usage: null` until a last one with the usage and no choices.
 */
export class ChunkMapper {
  constructor(
    private readonly meta: CompletionMeta,
    private readonly includeUsage: boolean,
  ) {}

  first(): ChatCompletionChunkDto {
    return this.chunk({ role: 'assistant', content: '' }, null);
  }

  of(event: CompletionEvent): ChatCompletionChunkDto[] {
    if (event.type === 'tool_call') {
      // OpenAI's pieces: the first of a call has id, type and name, the rest only arguments.
      const { index, id, name, arguments: args } = event;
      const call = {
        index,
        ...(id !== undefined && { id, type: 'function' as const }),
        function: { ...(name !== undefined && { name }), arguments: args },
      };
      return [this.chunk({ tool_calls: [call] }, null)];
    }
    if (event.type === 'delta') {
      const delta: ChunkDeltaDto = {};
      if (event.reasoning) delta.reasoning_content = event.reasoning;
      if (event.content) delta.content = event.content;
      return [this.chunk(delta, null)];
    }
    const finish = this.chunk({}, event.reply.finishReason);
    if (!this.includeUsage) return [finish];
    return [finish, { ...this.base(), choices: [], usage: toUsageDto(event.reply.usage) }];
  }

  private chunk(delta: ChunkDeltaDto, finishReason: string | null): ChatCompletionChunkDto {
    return {
      ...this.base(),
      choices: [{ index: 0, delta, finish_reason: finishReason, logprobs: null }],
      ...(this.includeUsage && { usage: null }),
    };
  }

  private base(): Omit<ChatCompletionChunkDto, 'choices'> {
    return {
      id: this.meta.id,
      object: 'chat.completion.chunk',
      created: this.meta.created,
      model: this.meta.model,
    };
  }
}

export function toOpenAiModel(alias: ModelAlias, created: number): OpenAiModelDto {
  return { id: alias.alias, object: 'model', created, owned_by: alias.provider };
}
