import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

import { METADATA_SCHEMA } from './create-response.dto';

// The shapes OpenAI's Responses and Conversations APIs answer with (openai package,
// resources/responses and resources/conversations), as far as this door fills them.

export class OutputTextDto {
  @ApiProperty({ enum: ['output_text'] })
  type!: 'output_text';

  @ApiProperty({ example: 'Bonjour !' })
  text!: string;

  @ApiProperty({ type: 'array', items: { type: 'object' }, description: 'Always empty' })
  annotations!: unknown[];

  @ApiProperty({ type: 'array', items: { type: 'object' }, description: 'Always empty' })
  logprobs!: unknown[];
}

export class InputTextDto {
  @ApiProperty({ enum: ['input_text'] })
  type!: 'input_text';

  @ApiProperty({ example: 'Say hello in French.' })
  text!: string;
}

/** An image a user message carries: one of the owner's files (GET /v1/files/{file_id}/content). */
export class InputImageDto {
  @ApiProperty({ enum: ['input_image'] })
  type!: 'input_image';

  @ApiProperty({ example: '0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b', description: 'The file id' })
  file_id!: string;

  @ApiProperty({ type: 'string', nullable: true, description: 'Always null: the image is a file' })
  image_url!: null;

  @ApiProperty({ enum: ['auto'] })
  detail!: 'auto';
}

/** A document a user message carries: one of the owner's files, its text read into the prompt. */
export class InputFileDto {
  @ApiProperty({ enum: ['input_file'] })
  type!: 'input_file';

  @ApiProperty({ example: '0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b', description: 'The file id' })
  file_id!: string;

  @ApiProperty({ example: 'notes.txt' })
  filename!: string;
}

export class ReasoningTextDto {
  @ApiProperty({ enum: ['reasoning_text'] })
  type!: 'reasoning_text';

  @ApiProperty({ example: 'The user wants a greeting.' })
  text!: string;
}

/** A message: a response's output, an input item, a conversation item. */
export class MessageItemDto {
  @ApiProperty({ example: 'msg_0193a1b2c3d47e5f8a9b0c1d2e3f4a5b' })
  id!: string;

  @ApiProperty({ enum: ['message'] })
  type!: 'message';

  @ApiProperty({ enum: ['user', 'assistant', 'system'] })
  role!: 'user' | 'assistant' | 'system';

  @ApiProperty({ enum: ['in_progress', 'completed', 'incomplete'] })
  status!: 'in_progress' | 'completed' | 'incomplete';

  @ApiProperty({
    description:
      '`input_text` parts for user messages (then an `input_image` or `input_file` part per file the message carries, with its `file_id`), `output_text` for replies',
    type: 'array',
    items: {
      oneOf: [
        { $ref: '#/components/schemas/OutputTextDto' },
        { $ref: '#/components/schemas/InputTextDto' },
        { $ref: '#/components/schemas/InputImageDto' },
        { $ref: '#/components/schemas/InputFileDto' },
      ],
    },
  })
  content!: (OutputTextDto | InputTextDto | InputImageDto | InputFileDto)[];
}

/** The reasoning a reply's model wrote before its answer (`<think>`), split off. */
export class ReasoningItemDto {
  @ApiProperty({ example: 'rs_0193a1b2c3d47e5f8a9b0c1d2e3f4a5b' })
  id!: string;

  @ApiProperty({ enum: ['reasoning'] })
  type!: 'reasoning';

  @ApiProperty({ type: 'array', items: { type: 'object' }, description: 'Always empty' })
  summary!: unknown[];

  @ApiProperty({ type: [ReasoningTextDto] })
  content!: ReasoningTextDto[];

  @ApiProperty({ enum: ['in_progress', 'completed', 'incomplete'] })
  status!: 'in_progress' | 'completed' | 'incomplete';
}

/** A function call the reply made: the client runs it and sends a function_call_output back. */
export class FunctionCallItemDto {
  @ApiProperty({
    description: 'fc_, the reply id and the call index',
    example: 'fc_0193a1b2c3d47e5f8a9b0c1d2e3f4a5b0000',
  })
  id!: string;

  @ApiProperty({ enum: ['function_call'] })
  type!: 'function_call';

  @ApiProperty({ description: 'The id a function_call_output answers', example: 'call_abc123' })
  call_id!: string;

  @ApiProperty({ example: 'get_weather' })
  name!: string;

  @ApiProperty({ description: 'JSON text of the arguments', example: '{"city":"Lisbon"}' })
  arguments!: string;

  @ApiProperty({ enum: ['completed'] })
  status!: 'completed';
}

/** A function call's result, as stored (a tool message). */
export class FunctionCallOutputItemDto {
  @ApiProperty({ example: 'msg_0193a1b2c3d47e5f8a9b0c1d2e3f4a5b' })
  id!: string;

  @ApiProperty({ enum: ['function_call_output'] })
  type!: 'function_call_output';

  @ApiProperty({ example: 'call_abc123' })
  call_id!: string;

  @ApiProperty({ example: '{"temperature":21}' })
  output!: string;

  @ApiProperty({ enum: ['completed'] })
  status!: 'completed';
}

export type OutputItemDto = MessageItemDto | ReasoningItemDto | FunctionCallItemDto;

/** An item of a conversation or of a response's input. */
export type ConversationItemDto = MessageItemDto | FunctionCallItemDto | FunctionCallOutputItemDto;

export class ResponseUsageDto {
  @ApiProperty({ example: 12 })
  input_tokens!: number;

  @ApiProperty({ example: { cached_tokens: 0 } })
  input_tokens_details!: { cached_tokens: number };

  @ApiProperty({ example: 5 })
  output_tokens!: number;

  @ApiProperty({ example: { reasoning_tokens: 0 } })
  output_tokens_details!: { reasoning_tokens: number };

  @ApiProperty({ example: 17 })
  total_tokens!: number;
}

export class ResponseErrorDto {
  @ApiProperty({ description: 'Our stable error code', example: 'provider_unavailable' })
  code!: string;

  @ApiProperty({ example: 'The provider cannot be reached' })
  message!: string;
}

export class ResponseObjectDto {
  @ApiProperty({ example: 'resp_0193a1b2c3d47e5f8a9b0c1d2e3f4a5b' })
  id!: string;

  @ApiProperty({ enum: ['response'] })
  object!: 'response';

  @ApiProperty({ description: 'Unix seconds', example: 1765112345 })
  created_at!: number;

  @ApiProperty({ nullable: true, type: 'number', description: 'Unix seconds' })
  completed_at!: number | null;

  @ApiProperty({
    enum: ['completed', 'failed', 'in_progress', 'cancelled', 'queued', 'incomplete'],
  })
  status!: 'completed' | 'failed' | 'in_progress' | 'cancelled' | 'queued' | 'incomplete';

  @ApiProperty({ description: 'The alias that answered', example: 'lmstudio/default' })
  model!: string;

  @ApiProperty({
    type: 'array',
    items: {
      oneOf: [
        { $ref: '#/components/schemas/ReasoningItemDto' },
        { $ref: '#/components/schemas/MessageItemDto' },
        { $ref: '#/components/schemas/FunctionCallItemDto' },
      ],
    },
    description:
      'A reasoning item when the model reasoned, then the reply message (left out when the reply only called functions), then its function calls',
  })
  output!: OutputItemDto[];

  @ApiProperty({ description: 'The reply text (what the SDKs call output_text)' })
  output_text!: string;

  @ApiProperty({ type: ResponseErrorDto, nullable: true })
  error!: ResponseErrorDto | null;

  @ApiProperty({ nullable: true, example: { reason: 'max_output_tokens' } })
  incomplete_details!: { reason: string } | null;

  @ApiProperty({ nullable: true, type: 'string', description: "The conversation's system prompt" })
  instructions!: string | null;

  @ApiProperty({ ...METADATA_SCHEMA, nullable: true })
  metadata!: Record<string, string> | null;

  @ApiProperty({ nullable: true, type: 'string' })
  previous_response_id!: string | null;

  @ApiProperty({ nullable: true, example: { id: 'conv_0193a1b2c3d47e5f8a9b0c1d2e3f4a5b' } })
  conversation!: { id: string } | null;

  @ApiProperty()
  background!: boolean;

  @ApiProperty()
  store!: boolean;

  @ApiProperty({ nullable: true, type: 'number' })
  temperature!: number | null;

  @ApiProperty({ nullable: true, type: 'number' })
  top_p!: number | null;

  @ApiProperty({ nullable: true, type: 'number' })
  max_output_tokens!: number | null;

  @ApiProperty({ example: { format: { type: 'text' } } })
  text!: { format: Record<string, unknown> };

  @ApiProperty({ enum: ['auto', 'disabled'] })
  truncation!: 'auto' | 'disabled';

  @ApiProperty({ example: 'auto', oneOf: [{ type: 'string' }, { type: 'object' }] })
  tool_choice!: string | Record<string, unknown>;

  @ApiProperty({ type: 'array', items: { type: 'object' } })
  tools!: unknown[];

  @ApiProperty()
  parallel_tool_calls!: boolean;

  @ApiProperty({ example: { effort: null, summary: null } })
  reasoning!: { effort: null; summary: null };

  @ApiProperty({ type: ResponseUsageDto, nullable: true })
  usage!: ResponseUsageDto | null;
}

export class DeletedObjectDto {
  @ApiProperty({ example: 'resp_0193a1b2c3d47e5f8a9b0c1d2e3f4a5b' })
  id!: string;

  @ApiProperty({ enum: ['response.deleted', 'conversation.deleted'] })
  object!: string;

  @ApiProperty({ enum: [true] })
  deleted!: true;
}

export class ItemListDto {
  @ApiProperty({ enum: ['list'] })
  object!: 'list';

  @ApiProperty({
    type: 'array',
    items: {
      oneOf: [
        { $ref: '#/components/schemas/MessageItemDto' },
        { $ref: '#/components/schemas/FunctionCallItemDto' },
        { $ref: '#/components/schemas/FunctionCallOutputItemDto' },
      ],
    },
  })
  data!: ConversationItemDto[];

  @ApiProperty({ nullable: true, type: 'string' })
  first_id!: string | null;

  @ApiProperty({ nullable: true, type: 'string' })
  last_id!: string | null;

  @ApiProperty()
  has_more!: boolean;
}

export class ConversationObjectDto {
  @ApiProperty({ example: 'conv_0193a1b2c3d47e5f8a9b0c1d2e3f4a5b' })
  id!: string;

  @ApiProperty({ enum: ['conversation'] })
  object!: 'conversation';

  @ApiProperty({ description: 'Unix seconds', example: 1765112345 })
  created_at!: number;

  @ApiProperty({ ...METADATA_SCHEMA, nullable: true })
  metadata!: Record<string, string> | null;
}

/** One Server-Sent Event of a streamed response (`event:` is its `type`). */
export class ResponseStreamEventDto {
  @ApiProperty({
    description: 'response.created, response.in_progress, response.output_item.added, …',
    example: 'response.output_text.delta',
  })
  type!: string;

  @ApiProperty({
    description: 'From 0, one more per event; resume with starting_after',
    example: 5,
  })
  sequence_number!: number;

  @ApiPropertyOptional({ type: ResponseObjectDto })
  response?: ResponseObjectDto;

  @ApiPropertyOptional({ example: 0 })
  output_index?: number;

  @ApiPropertyOptional({ example: 'msg_0193a1b2c3d47e5f8a9b0c1d2e3f4a5b' })
  item_id?: string;

  @ApiPropertyOptional({ example: 0 })
  content_index?: number;

  @ApiPropertyOptional({ example: 'Bon' })
  delta?: string;
}
