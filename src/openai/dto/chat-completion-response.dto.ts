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

export class AssistantMessageDto {
  @ApiProperty({ enum: ['assistant'] })
  role!: 'assistant';

  @ApiProperty({ description: 'The answer, without `<think>` reasoning', example: 'Bonjour !' })
  content!: string;

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

export class ChunkDeltaDto {
  @ApiPropertyOptional({ enum: ['assistant'], description: 'First chunk only' })
  role?: 'assistant';

  @ApiPropertyOptional({ example: 'Bon' })
  content?: string;

  @ApiPropertyOptional({ example: 'The user wants' })
  reasoning_content?: string;
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
