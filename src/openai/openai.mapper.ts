import type { ChatMessage, GenerationParams, ResponseFormat } from '../llm/llm.types';
import type { ModelAlias } from '../llm/model-registry';
import type {
  ChatCompletionMessageDto,
  ChatCompletionRequestDto,
  MessageContent,
} from './dto/chat-completion-request.dto';
import type {
  ChatCompletionChunkDto,
  ChatCompletionDto,
  ChunkDeltaDto,
  CompletionUsageDto,
  OpenAiModelDto,
} from './dto/chat-completion-response.dto';

/** What is sent upstream for one request, in our own terms. */
export interface CompletionInput {
  alias: string;
  messages: ChatMessage[];
  /** The alias's defaults overlaid with the request's. */
  params: GenerationParams;
  responseFormat?: ResponseFormat;
  stop?: string[];
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
}

export type CompletionEvent =
  { type: 'delta'; content: string; reasoning: string } | { type: 'done'; reply: CompletionReply };

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
function textOf(content: MessageContent | null): string {
  if (content === null) return ''; // an assistant's turn that only called tools
  return typeof content === 'string' ? content : content.map((part) => part.text).join('\n');
}

export function toChatMessages(messages: ChatCompletionMessageDto[]): ChatMessage[] {
  return messages.map((m) => ({
    role: m.role === 'developer' ? 'system' : m.role,
    content: textOf(m.content),
  }));
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
): CompletionInput {
  const stop = dto.stop == null ? undefined : [dto.stop].flat();
  return {
    alias: alias.alias,
    messages: toChatMessages(dto.messages),
    params: { ...alias.params, ...requestParams(dto) },
    ...(dto.response_format?.type === 'json_object' && {
      responseFormat: { type: 'json_object' },
    }),
    ...(stop && { stop }),
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
          content: reply.content,
          ...(reply.reasoning !== null && { reasoning_content: reply.reasoning }),
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
