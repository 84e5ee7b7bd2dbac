import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class CompletionUsageDto {
  @ApiProperty({ example: 12 })
  prompt_tokens!: number;

  @ApiProperty({ example: 5 })
  completion_tokens!: number;

  @ApiProperty({ example: 17 })
  total_tokens!: number;

  @ApiPropertyOptional({
    description: 'Present (true) when the provider reported no usage and it was counted here',
    example: true,
  })
  estimated?: boolean;
}

export class ToolCallFunctionResponseDto {
  @ApiProperty({ example: 'get_weather' })
  name!: string;

  @ApiProperty({
    description: 'A JSON object as text, as the model wrote it: parse it, and check it',
    example: '{"city":"Paris"}',
  })
  arguments!: string;
}

export class ToolCallResponseDto {
  @ApiProperty({
    description: 'Answer it with a tool message of this tool_call_id',
    example: 'call_abc123',
  })
  id!: string;

  @ApiProperty({ enum: ['function'] })
  type!: 'function';

  @ApiProperty({ type: ToolCallFunctionResponseDto })
  function!: ToolCallFunctionResponseDto;
}

export class AssistantMessageDto {
  @ApiProperty({ enum: ['assistant'] })
  role!: 'assistant';

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'The answer, without `<think>` reasoning; null when the model only called tools',
    example: 'Bonjour !',
  })
  content!: string | null;

  @ApiPropertyOptional({
    type: [ToolCallResponseDto],
    description: 'The tools the model called (finish_reason `tool_calls`)',
  })
  tool_calls?: ToolCallResponseDto[];

  @ApiPropertyOptional({
    description: 'Reasoning the model wrote in `<think>…</think>`, when it wrote any',
    example: 'The user wants a greeting in French.',
  })
  reasoning_content?: string;
}

export class ChatCompletionChoiceDto {
  @ApiProperty({ example: 0 })
  index!: number;

  @ApiProperty({ type: AssistantMessageDto })
  message!: AssistantMessageDto;

  @ApiProperty({ type: String, nullable: true, example: 'stop' })
  finish_reason!: string | null;

  @ApiProperty({ type: Object, nullable: true, example: null })
  logprobs!: null;
}

export class ChatCompletionDto {
  @ApiProperty({ example: 'chatcmpl-0193…' })
  id!: string;

  @ApiProperty({ enum: ['chat.completion'] })
  object!: 'chat.completion';

  @ApiProperty({ description: 'Unix seconds', example: 1764475200 })
  created!: number;

  @ApiProperty({ description: 'The alias asked for', example: 'lmstudio/default' })
  model!: string;

  @ApiProperty({ type: [ChatCompletionChoiceDto] })
  choices!: ChatCompletionChoiceDto[];

  @ApiProperty({ type: CompletionUsageDto })
  usage!: CompletionUsageDto;
}

export class ChunkToolCallFunctionDto {
  @ApiPropertyOptional({ description: 'First piece of a call only', example: 'get_weather' })
  name?: string;

  @ApiProperty({ description: 'The next piece of the arguments text', example: '{"city":' })
  arguments!: string;
}

/** A piece of a streamed tool call: join the pieces of one index. */
export class ChunkToolCallDto {
  @ApiProperty({ description: 'Which call of the reply this piece belongs to', example: 0 })
  index!: number;

  @ApiPropertyOptional({ description: 'First piece of a call only', example: 'call_abc123' })
  id?: string;

  @ApiPropertyOptional({ enum: ['function'], description: 'First piece of a call only' })
  type?: 'function';

  @ApiProperty({ type: ChunkToolCallFunctionDto })
  function!: ChunkToolCallFunctionDto;
}

export class ChunkDeltaDto {
  @ApiPropertyOptional({ enum: ['assistant'], description: 'First chunk only' })
  role?: 'assistant';

  @ApiPropertyOptional({ example: 'Bon' })
  content?: string;

  @ApiPropertyOptional({ example: 'The user wants' })
  reasoning_content?: string;

  @ApiPropertyOptional({ type: [ChunkToolCallDto], description: 'Pieces of tool calls' })
  tool_calls?: ChunkToolCallDto[];
}

export class ChunkChoiceDto {
  @ApiProperty({ example: 0 })
  index!: number;

  @ApiProperty({ type: ChunkDeltaDto })
  delta!: ChunkDeltaDto;

  @ApiProperty({ type: String, nullable: true, example: null })
  finish_reason!: string | null;

  @ApiProperty({ type: Object, nullable: true, example: null })
  logprobs!: null;
}

export class ChatCompletionChunkDto {
  @ApiProperty({ example: 'chatcmpl-0193…' })
  id!: string;

  @ApiProperty({ enum: ['chat.completion.chunk'] })
  object!: 'chat.completion.chunk';

  @ApiProperty({ example: 1764475200 })
  created!: number;

  @ApiProperty({ example: 'lmstudio/default' })
  model!: string;

  @ApiProperty({ type: [ChunkChoiceDto], description: 'Empty in the final usage chunk' })
  choices!: ChunkChoiceDto[];

  @ApiPropertyOptional({
    type: CompletionUsageDto,
    nullable: true,
    description: 'With stream_options.include_usage: null, then set in the final chunk',
  })
  usage?: CompletionUsageDto | null;
}

export class OpenAiModelDto {
  @ApiProperty({ description: 'A model alias', example: 'lmstudio/default' })
  id!: string;

  @ApiProperty({ enum: ['model'] })
  object!: 'model';

  @ApiProperty({ description: 'Unix seconds (when this server started)', example: 1764475200 })
  created!: number;

  @ApiProperty({ description: 'The provider', example: 'lmstudio' })
  owned_by!: string;
}

export class OpenAiModelListDto {
  @ApiProperty({ enum: ['list'] })
  object!: 'list';

  @ApiProperty({ type: [OpenAiModelDto] })
  data!: OpenAiModelDto[];
}

export class OpenAiErrorDetailDto {
  @ApiProperty({ example: "The model 'nope/x' does not exist; GET /v1/models lists them" })
  message!: string;

  @ApiProperty({
    description:
      '`invalid_request_error`, `authentication_error`, `permission_error`, `rate_limit_error` or `server_error`',
    example: 'invalid_request_error',
  })
  type!: string;

  @ApiProperty({
    description:
      'Our stable error code (`model_not_found`, `validation_failed`, `provider_rate_limited`, …)',
    example: 'model_not_found',
  })
  code!: string;

  @ApiProperty({ type: String, nullable: true, example: 'model' })
  param!: string | null;
}

/** OpenAI's error body, which its SDKs read into APIError. */
export class OpenAiErrorDto {
  @ApiProperty({ type: OpenAiErrorDetailDto })
  error!: OpenAiErrorDetailDto;
}
