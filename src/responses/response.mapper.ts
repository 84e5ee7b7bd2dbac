import type { Message, MessageAttachment } from '../history/message';
import type { ToolCall } from '../llm/llm.types';
import type { MessageResponseDto } from '../messages';
import type { TextFormatDto } from './dto/create-response.dto';
import type {
  ConversationItemDto,
  FunctionCallItemDto,
  FunctionCallOutputItemDto,
  InputFileDto,
  InputImageDto,
  MessageItemDto,
  OutputItemDto,
  ResponseObjectDto,
  ResponseUsageDto,
} from './dto/response.dto';
import { toCallItemId, toOpenAiId } from './response-ids';

export type ResponseStatus = ResponseObjectDto['status'];

/** A reply as a response shows it, from a stored row, a stream's event, or a stateless call. */
export interface ReplyView {
  /** The reply's UUID: the response's and its output message's id. */
  id: string;
  conversationId: string | null;
  status: ResponseStatus;
  text: string;
  reasoning: string | null;
  model: string;
  /** Unix seconds. */
  createdAt: number;
  completedAt: number | null;
  usage: { input: number; output: number } | null;
  error: { code: string; message: string } | null;
  /** The function calls the reply made (it waits for their outputs); none when absent. */
  toolCalls?: ToolCall[];
}

/** What the request asked for (or, read back later, what is stored of it). */
export interface ResponseEcho {
  instructions: string | null;
  metadata: Record<string, string> | null;
  /** The UUID of the reply this one follows on its path, if any. */
  previousResponseId: string | null;
  temperature: number | null;
  topP: number | null;
  maxOutputTokens: number | null;
  background: boolean;
  store: boolean;
  format?: TextFormatDto;
  truncation: 'auto' | 'disabled';
  /** The tools offered and the choice, as the request sent them. */
  tools?: Record<string, unknown>[];
  toolChoice?: string | Record<string, unknown>;
}

export const STORED_ECHO: ResponseEcho = {
  instructions: null,
  metadata: null,
  previousResponseId: null,
  temperature: null,
  topP: null,
  maxOutputTokens: null,
  background: false,
  store: true,
  truncation: 'auto',
};

const seconds = (date: Date | string): number => Math.floor(new Date(date).getTime() / 1000);

/** A stored reply's status as OpenAI names it; a reply cut at max tokens is incomplete. */
export function responseStatus(
  status: Message['status'],
  finishReason: string | null,
): ResponseStatus {
  switch (status) {
    case 'streaming':
      return 'in_progress';
    case 'complete':
      return finishReason === 'length' ? 'incomplete' : 'completed';
    // A reply that called tools is a completed response whose output holds the calls.
    case 'requires_action':
      return 'completed';
    default:
      return status;
  }
}

type StoredReply = Pick<
  Message,
  'id' | 'conversationId' | 'status' | 'content' | 'reasoning' | 'model' | 'createdAt'
> &
  Partial<Pick<Message, 'toolCalls'>> &
  Pick<Message, 'completedAt' | 'promptTokens' | 'completionTokens' | 'finishReason'> &
  Pick<Message, 'errorCode' | 'errorMessage'>;

export function fromMessage(row: StoredReply): ReplyView {
  const hasUsage = row.promptTokens !== null || row.completionTokens !== null;
  return {
    id: row.id,
    conversationId: row.conversationId,
    status: responseStatus(row.status, row.finishReason),
    text: row.content,
    reasoning: row.reasoning,
    model: row.model ?? '',
    createdAt: seconds(row.createdAt),
    completedAt: row.completedAt ? seconds(row.completedAt) : null,
    usage: hasUsage ? { input: row.promptTokens ?? 0, output: row.completionTokens ?? 0 } : null,
    error: row.errorCode ? { code: row.errorCode, message: row.errorMessage ?? '' } : null,
    toolCalls: row.toolCalls ?? [],
  };
}

/** A reply as a turn's `message.completed` / `error` event carries it (the REST shape). */
export function fromMessageDto(dto: MessageResponseDto): ReplyView {
  return fromMessage({
    ...dto,
    reasoning: dto.reasoning ?? null,
    createdAt: new Date(dto.createdAt),
    completedAt: dto.completedAt ? new Date(dto.completedAt) : null,
    promptTokens: dto.usage?.promptTokens ?? null,
    completionTokens: dto.usage?.completionTokens ?? null,
    errorCode: dto.error?.code ?? null,
    errorMessage: dto.error?.message ?? null,
  });
}

export function toUsage(usage: ReplyView['usage']): ResponseUsageDto | null {
  if (!usage) return null;
  return {
    input_tokens: usage.input,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: usage.output,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: usage.input + usage.output,
  };
}

const itemStatus = (status: ResponseStatus): MessageItemDto['status'] =>
  status === 'in_progress' || status === 'queued'
    ? 'in_progress'
    : status === 'completed'
      ? 'completed'
      : 'incomplete';

export function toOutputMessage(view: ReplyView, status = itemStatus(view.status)): MessageItemDto {
  return {
    id: toOpenAiId('message', view.id),
    type: 'message',
    role: 'assistant',
    status,
    content: [{ type: 'output_text', text: view.text, annotations: [], logprobs: [] }],
  };
}

export function toFunctionCall(
  replyId: string,
  call: ToolCall,
  index: number,
): FunctionCallItemDto {
  return {
    id: toCallItemId(replyId, index),
    type: 'function_call',
    call_id: call.id,
    name: call.name,
    arguments: call.arguments,
    status: 'completed',
  };
}

/** A reply that called functions and wrote nothing shows no message, only its calls. */
export const showsMessage = (view: Pick<ReplyView, 'text' | 'toolCalls'>): boolean =>
  view.text !== '' || !view.toolCalls?.length;

export function toOutput(view: ReplyView): OutputItemDto[] {
  const status = itemStatus(view.status);
  const items: OutputItemDto[] = [];
  if (view.reasoning)
    items.push({
      id: toOpenAiId('reasoning', view.id),
      type: 'reasoning',
      summary: [],
      content: [{ type: 'reasoning_text', text: view.reasoning }],
      status,
    });
  if (showsMessage(view)) items.push(toOutputMessage(view, status));
  (view.toolCalls ?? []).forEach((call, i) => items.push(toFunctionCall(view.id, call, i)));
  return items;
}

function textFormat(format: TextFormatDto | undefined): Record<string, unknown> {
  if (!format || format.type !== 'json_schema') return { type: format?.type ?? 'text' };
  const { type, name, schema, strict, description } = format;
  return { type, name, schema, strict: strict ?? null, ...(description && { description }) };
}

/**
 * The response object. `output` holds only what exists: an in-progress response (the
 * one `response.created` carries) has none yet, as OpenAI's.
 */
export function toResponseObject(
  view: ReplyView,
  echo: ResponseEcho,
  withOutput = view.status !== 'in_progress',
): ResponseObjectDto {
  const incomplete = view.status === 'incomplete';
  return {
    id: toOpenAiId('response', view.id),
    object: 'response',
    created_at: view.createdAt,
    completed_at: view.completedAt,
    status: view.status,
    model: view.model,
    output: withOutput ? toOutput(view) : [],
    output_text: withOutput ? view.text : '',
    error: view.status === 'failed' ? view.error : null,
    incomplete_details: incomplete ? { reason: 'max_output_tokens' } : null,
    instructions: echo.instructions,
    metadata: echo.metadata,
    previous_response_id:
      echo.previousResponseId && toOpenAiId('response', echo.previousResponseId),
    conversation: view.conversationId
      ? { id: toOpenAiId('conversation', view.conversationId) }
      : null,
    background: echo.background,
    store: echo.store,
    temperature: echo.temperature,
    top_p: echo.topP,
    max_output_tokens: echo.maxOutputTokens,
    text: { format: textFormat(echo.format) },
    truncation: echo.truncation,
    tool_choice: echo.toolChoice ?? 'auto',
    tools: echo.tools ?? [],
    parallel_tool_calls: true,
    reasoning: { effort: null, summary: null },
    usage: toUsage(view.usage),
  };
}

/** A stored message as conversation items (or a response's input items). */
/** A file a user message carries, as the part it was sent as. */
function toFilePart(file: MessageAttachment): InputImageDto | InputFileDto {
  return file.kind === 'image'
    ? { type: 'input_image', file_id: file.id, image_url: null, detail: 'auto' }
    : { type: 'input_file', file_id: file.id, filename: file.filename };
}

export function toItems(
  row: Pick<Message, 'id' | 'role' | 'content' | 'status'> &
    Partial<Pick<Message, 'toolCalls' | 'toolCallId' | 'attachments'>>,
): ConversationItemDto[] {
  if (row.role === 'tool') {
    const item: FunctionCallOutputItemDto = {
      id: toOpenAiId('message', row.id),
      type: 'function_call_output',
      call_id: row.toolCallId ?? '',
      output: row.content,
      status: 'completed',
    };
    return [item];
  }
  const calls = row.role === 'assistant' ? (row.toolCalls ?? []) : [];
  const message: MessageItemDto = {
    id: toOpenAiId('message', row.id),
    type: 'message',
    role: row.role,
    status: itemStatus(responseStatus(row.status, null)),
    content: [
      row.role === 'assistant'
        ? { type: 'output_text', text: row.content, annotations: [], logprobs: [] }
        : { type: 'input_text', text: row.content },
      ...(row.role === 'user' ? (row.attachments ?? []).map(toFilePart) : []),
    ],
  };
  return [
    ...(showsMessage({ text: row.content, toolCalls: calls }) ? [message] : []),
    ...calls.map((call, i) => toFunctionCall(row.id, call, i)),
  ];
}
