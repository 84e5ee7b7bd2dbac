import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
  ValidateBy,
  ValidateNested,
} from 'class-validator';

import { MODEL_ALIAS_MAX } from '../../llm/model-alias';

export const MESSAGE_ROLES = ['system', 'developer', 'user', 'assistant'] as const;
export type MessageRole = (typeof MESSAGE_ROLES)[number];

/** A content part; only text parts can be passed on to every provider. */
export interface TextPart {
  type: 'text';
  text: string;
}

export type MessageContent = string | TextPart[];

const STOP_MAX = 4;

function isTextPart(value: unknown): value is TextPart {
  if (typeof value !== 'object' || value === null) return false;
  const { type, text, ...rest } = value as Record<string, unknown>;
  return type === 'text' && typeof text === 'string' && Object.keys(rest).length === 0;
}

function isContent(value: unknown): value is MessageContent {
  return typeof value === 'string' || (Array.isArray(value) && value.every(isTextPart));
}

function isStop(value: unknown): boolean {
  const nonEmpty = (s: unknown): boolean => typeof s === 'string' && s.length > 0;
  if (Array.isArray(value)) return value.length <= STOP_MAX && value.every(nonEmpty);
  return nonEmpty(value);
}

/**
 * A string, or an array of `{ type: "text", text }` parts; null on an assistant message
 * (OpenAI clients send it with tool calls), read as empty text.
 */
const IsMessageContent = (): PropertyDecorator =>
  ValidateBy({
    name: 'isMessageContent',
    validator: {
      validate: (value, args) =>
        isContent(value) ||
        (value === null && (args?.object as { role?: unknown }).role === 'assistant'),
      defaultMessage: (args) =>
        args?.value == null
          ? '$property must be a string or an array of text parts; only an assistant message may have null content'
          : '$property must be a string or an array of text parts ({ "type": "text", "text": "…" }); images, audio and files are not supported',
    },
  });

const IsStop = (): PropertyDecorator =>
  ValidateBy({
    name: 'isStop',
    validator: {
      validate: isStop,
      defaultMessage: () => `$property must be a non-empty string or up to ${STOP_MAX} of them`,
    },
  });

export class ChatCompletionMessageDto {
  @ApiProperty({
    enum: MESSAGE_ROLES,
    description: '`developer` is treated as `system`',
    example: 'user',
  })
  @IsIn(MESSAGE_ROLES)
  role!: MessageRole;

  @ApiProperty({
    description:
      'A string, or an array of text parts `{ "type": "text", "text": "…" }`; null on an assistant message (read as empty text)',
    oneOf: [
      { type: 'string' },
      {
        type: 'array',
        items: {
          type: 'object',
          properties: { type: { type: 'string', enum: ['text'] }, text: { type: 'string' } },
          required: ['type', 'text'],
        },
      },
    ],
    example: 'Say hello in French.',
  })
  @IsMessageContent()
  content!: MessageContent | null;

  @ApiPropertyOptional({ description: 'Accepted and not used', example: 'ada' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  name?: string;
}

export class StreamOptionsDto {
  @ApiPropertyOptional({
    description: 'Send a last chunk with `usage` and no choices before `data: [DONE]`',
    example: true,
  })
  @IsOptional()
  @IsBoolean()
  include_usage?: boolean;
}

export class ResponseFormatDto {
  @ApiProperty({
    enum: ['text', 'json_object'],
    description: '`json_object` is passed to the provider, which must support it',
    example: 'json_object',
  })
  @IsIn(['text', 'json_object'])
  type!: 'text' | 'json_object';
}

/** The body of `POST /v1/chat/completions`, in OpenAI's wire format (snake_case). */
export class ChatCompletionRequestDto {
  @ApiProperty({ description: 'A model alias (GET /v1/models)', example: 'lmstudio/default' })
  @IsString()
  @MaxLength(MODEL_ALIAS_MAX)
  model!: string;

  @ApiProperty({ type: [ChatCompletionMessageDto] })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(10_000)
  @ValidateNested({ each: true })
  @Type(() => ChatCompletionMessageDto)
  messages!: ChatCompletionMessageDto[];

  @ApiPropertyOptional({ minimum: 0, maximum: 2, example: 0 })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(2)
  temperature?: number;

  @ApiPropertyOptional({ minimum: 0, maximum: 1, example: 1 })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(1)
  top_p?: number;

  @ApiPropertyOptional({ description: 'Reply budget in tokens', minimum: 1, example: 256 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  max_tokens?: number;

  @ApiPropertyOptional({
    description: 'Same as max_tokens; wins when both are given',
    minimum: 1,
    example: 256,
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  max_completion_tokens?: number;

  @ApiPropertyOptional({ description: 'Makes the request cacheable (see X-Cache)', example: 42 })
  @IsOptional()
  @IsInt()
  @Min(Number.MIN_SAFE_INTEGER)
  @Max(Number.MAX_SAFE_INTEGER)
  seed?: number;

  @ApiPropertyOptional({
    description: 'Passed to the provider: penalises tokens by how often they appeared',
    minimum: -2,
    maximum: 2,
    example: 0,
  })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(-2)
  @Max(2)
  frequency_penalty?: number;

  @ApiPropertyOptional({
    description: 'Passed to the provider: penalises tokens that appeared at all',
    minimum: -2,
    maximum: 2,
    example: 0,
  })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(-2)
  @Max(2)
  presence_penalty?: number;

  @ApiPropertyOptional({
    description: `Up to ${STOP_MAX} sequences that end the reply`,
    oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
    example: ['\n\n'],
  })
  @IsOptional()
  @IsStop()
  stop?: string | string[];

  @ApiPropertyOptional({ description: 'Server-Sent Events in chunks, ending with `data: [DONE]`' })
  @IsOptional()
  @IsBoolean()
  stream?: boolean;

  @ApiPropertyOptional({ type: StreamOptionsDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => StreamOptionsDto)
  stream_options?: StreamOptionsDto;

  @ApiPropertyOptional({ type: ResponseFormatDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => ResponseFormatDto)
  response_format?: ResponseFormatDto;

  @ApiPropertyOptional({ description: 'Number of choices; only 1 is supported', example: 1 })
  @IsOptional()
  @IsIn([1], { message: 'n must be 1: one choice per request is supported' })
  n?: number;

  @ApiPropertyOptional({ description: 'Accepted and not used', example: 'user-1234' })
  @IsOptional()
  @IsString()
  @MaxLength(256)
  user?: string;

  @ApiPropertyOptional({
    description: 'Only false: log probabilities are not served (true is refused)',
    example: false,
  })
  @IsOptional()
  @IsIn([false], {
    message: 'logprobs must be false: log probabilities are not served by this endpoint',
  })
  logprobs?: boolean;

  @ApiPropertyOptional({
    description: 'Accepted and not used: nothing is stored by this endpoint',
    example: false,
  })
  @IsOptional()
  @IsBoolean()
  store?: boolean;

  @ApiPropertyOptional({
    description: 'Accepted and not used (OpenAI keeps it with stored completions)',
    type: 'object',
    additionalProperties: { type: 'string' },
    example: { app: 'demo' },
  })
  @IsOptional()
  @IsObject()
  metadata?: Record<string, string>;
}

export class ModelIdParam {
  @ApiProperty({ description: 'A model alias', example: 'lmstudio/default' })
  @IsString()
  @MaxLength(MODEL_ALIAS_MAX)
  id!: string;
}
