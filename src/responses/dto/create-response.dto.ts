import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
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

/** What `input` may be before response-input.ts reads it: a string, or an array of objects. */
export type ResponseInput = string | Record<string, unknown>[];

export const INPUT_ITEMS_MAX = 500;

const isInput = (value: unknown): boolean =>
  (typeof value === 'string' && value.length > 0) ||
  (Array.isArray(value) &&
    value.length > 0 &&
    value.length <= INPUT_ITEMS_MAX &&
    value.every((item) => typeof item === 'object' && item !== null && !Array.isArray(item)));

/** OpenAI's metadata: up to 16 pairs, keys up to 64 characters, values up to 512. */
const isMetadata = (value: unknown): boolean => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const entries = Object.entries(value);
  return (
    entries.length <= 16 &&
    entries.every(([k, v]) => k.length <= 64 && typeof v === 'string' && v.length <= 512)
  );
};

export const IsMetadata = (): PropertyDecorator =>
  ValidateBy({
    name: 'isMetadata',
    validator: {
      validate: isMetadata,
      defaultMessage: () =>
        '$property must be an object of at most 16 string values (keys up to 64 characters, values up to 512)',
    },
  });

const METADATA_SCHEMA = {
  type: 'object',
  additionalProperties: { type: 'string', maxLength: 512 },
  maxProperties: 16,
  example: { app: 'demo' },
} as const;

export { METADATA_SCHEMA };

export class TextFormatDto {
  @ApiProperty({
    enum: ['text', 'json_object', 'json_schema'],
    description:
      'The reply format; JSON formats are passed to the provider, which must support them',
    example: 'json_object',
  })
  @IsIn(['text', 'json_object', 'json_schema'])
  type!: 'text' | 'json_object' | 'json_schema';

  @ApiPropertyOptional({ description: 'json_schema: the schema name', example: 'weather' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  name?: string;

  @ApiPropertyOptional({ description: 'json_schema: the JSON Schema the reply must match' })
  @IsOptional()
  @IsObject()
  schema?: Record<string, unknown>;

  @ApiPropertyOptional({ description: 'json_schema: ask the provider to follow it strictly' })
  @IsOptional()
  @IsBoolean()
  strict?: boolean;

  @ApiPropertyOptional({ description: 'json_schema: what the schema is for' })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  description?: string;
}

export class TextConfigDto {
  @ApiPropertyOptional({ type: TextFormatDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => TextFormatDto)
  format?: TextFormatDto;

  @ApiPropertyOptional({
    description: 'Accepted and not used',
    type: 'string',
    enum: ['low', 'medium', 'high'],
  })
  @IsOptional()
  @IsIn(['low', 'medium', 'high', null])
  verbosity?: string | null;
}

/** The body of `POST /v1/responses`, in OpenAI's wire format (snake_case). */
export class CreateResponseDto {
  @ApiPropertyOptional({
    description:
      "A model alias (GET /v1/models); the conversation's, else DEFAULT_MODEL, when absent",
    example: 'lmstudio/default',
  })
  @IsOptional()
  @IsString()
  @MaxLength(MODEL_ALIAS_MAX)
  model?: string;

  @ApiProperty({
    description:
      'A string (one user message), or input items: messages `{ role, content }` (`type: "message"` optional) whose content is a string or `input_text` / `output_text` parts, and `item_reference` items naming a stored message. The last item must be a user message: it starts the turn; earlier ones are stored before it. `function_call_output` items (after the `function_call` items they answer, which may be sent back) answer the function calls of a response. The last (user) message may also carry `input_image` / `input_file` parts, at most 10 beside its text: `file_id` of one of your files (POST /v1/files; a file of another owner answers 404 `file_not_found`), or inline as a base64 data URL (`image_url`; `file_data` with `filename`), stored as your file first. They become the attachments of the message: images for aliases with vision only (else 422 `vision_not_supported`), the text of documents into the prompt. Remote URLs are refused (400 `unsupported_input`): the server never fetches.',
    oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'object' } }],
    example: 'Say hello in French.',
  })
  @ValidateBy({
    name: 'isResponseInput',
    validator: {
      validate: isInput,
      defaultMessage: () =>
        `$property must be a non-empty string or an array of 1 to ${INPUT_ITEMS_MAX} input items (objects)`,
    },
  })
  input!: ResponseInput;

  @ApiPropertyOptional({
    description:
      'The system prompt of the conversation this response creates. Continuing a conversation (previous_response_id, conversation), its own system prompt applies and this is not used.',
    example: 'Answer in one sentence.',
    type: 'string',
    nullable: true,
  })
  @IsOptional()
  @IsString()
  @MaxLength(100_000)
  instructions?: string | null;

  @ApiPropertyOptional({
    description:
      'Continue from this response (a new branch when it is not the end of its conversation)',
    example: 'resp_0193a1b2c3d47e5f8a9b0c1d2e3f4a5b',
    type: 'string',
    nullable: true,
  })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  previous_response_id?: string | null;

  @ApiPropertyOptional({
    description: 'Append to this conversation (its current path): an id, or `{ id }`',
    oneOf: [{ type: 'string' }, { type: 'object', properties: { id: { type: 'string' } } }],
    example: 'conv_0193a1b2c3d47e5f8a9b0c1d2e3f4a5b',
  })
  @IsOptional()
  @ValidateBy({
    name: 'isConversationRef',
    validator: {
      validate: (value: unknown) =>
        (typeof value === 'string' && value.length <= 100) ||
        (typeof value === 'object' &&
          value !== null &&
          typeof (value as { id?: unknown }).id === 'string' &&
          Object.keys(value).length === 1),
      defaultMessage: () => '$property must be a conversation id or { "id": "conv_…" }',
    },
  })
  conversation?: string | { id: string } | null;

  @ApiPropertyOptional({
    description: 'false: nothing is stored (a stateless call, as /v1/chat/completions)',
    default: true,
  })
  @IsOptional()
  @IsBoolean()
  store?: boolean;

  @ApiPropertyOptional({ description: 'Answer Server-Sent Events (response.* events)' })
  @IsOptional()
  @IsBoolean()
  stream?: boolean;

  @ApiPropertyOptional({
    description:
      'Answer at once with status in_progress; the reply is generated and stored anyway (GET /v1/responses/{id})',
  })
  @IsOptional()
  @IsBoolean()
  background?: boolean;

  @ApiPropertyOptional({ type: 'number', minimum: 0, maximum: 2, example: 0.7, nullable: true })
  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(2)
  temperature?: number | null;

  @ApiPropertyOptional({ type: 'number', minimum: 0, maximum: 1, example: 1, nullable: true })
  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(1)
  top_p?: number | null;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    description: 'Most tokens of the reply',
    nullable: true,
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  max_output_tokens?: number | null;

  @ApiPropertyOptional({
    ...METADATA_SCHEMA,
    description: 'Stored with the response (on its user message) and returned with it',
    nullable: true,
  })
  @IsOptional()
  @IsMetadata()
  metadata?: Record<string, string> | null;

  @ApiPropertyOptional({ type: TextConfigDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => TextConfigDto)
  text?: TextConfigDto;

  @ApiPropertyOptional({
    enum: ['auto', 'disabled'],
    description:
      'Accepted: the history is always fitted to the context window (oldest left out first), as `auto` does',
    nullable: true,
  })
  @IsOptional()
  @IsIn(['auto', 'disabled', null])
  truncation?: 'auto' | 'disabled' | null;

  @ApiPropertyOptional({
    description:
      'Function tools, `{ type: "function", name, description, parameters, strict }`; other tool types are refused with 400 `unsupported_input`',
    type: 'array',
    items: { type: 'object' },
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(128)
  tools?: Record<string, unknown>[];

  @ApiPropertyOptional({
    description: '`auto`, `none`, `required` or `{ type: "function", name }`',
    oneOf: [{ type: 'string' }, { type: 'object' }],
  })
  @IsOptional()
  tool_choice?: string | Record<string, unknown>;

  @ApiPropertyOptional({ description: 'Accepted and not used', type: 'boolean' })
  @IsOptional()
  @IsBoolean()
  parallel_tool_calls?: boolean | null;

  @ApiPropertyOptional({ description: 'Accepted and not used', type: [String] })
  @IsOptional()
  @IsArray()
  include?: string[] | null;

  @ApiPropertyOptional({
    description: 'Accepted and not used',
    type: 'object',
    additionalProperties: true,
  })
  @IsOptional()
  @IsObject()
  reasoning?: Record<string, unknown> | null;

  @ApiPropertyOptional({
    description: 'Accepted and not used',
    type: 'object',
    additionalProperties: true,
  })
  @IsOptional()
  @IsObject()
  stream_options?: Record<string, unknown> | null;

  @ApiPropertyOptional({ description: 'Accepted and not used', type: 'string' })
  @IsOptional()
  @IsString()
  @MaxLength(256)
  user?: string;

  @ApiPropertyOptional({ description: 'Accepted and not used', type: 'string' })
  @IsOptional()
  @IsString()
  @MaxLength(256)
  safety_identifier?: string;

  @ApiPropertyOptional({ description: 'Accepted and not used', type: 'string' })
  @IsOptional()
  @IsString()
  @MaxLength(256)
  prompt_cache_key?: string;

  @ApiPropertyOptional({ description: 'Accepted and not used', type: 'string' })
  @IsOptional()
  @IsString()
  @MaxLength(32)
  service_tier?: string | null;

  @ApiPropertyOptional({ description: 'Accepted and not used', type: 'integer' })
  @IsOptional()
  @IsInt()
  max_tool_calls?: number | null;

  @ApiPropertyOptional({ description: 'Accepted and not used', type: 'integer' })
  @IsOptional()
  @IsInt()
  top_logprobs?: number | null;
}
