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
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateBy,
  ValidateIf,
  ValidateNested,
} from 'class-validator';

import { ResponseFormatDto } from '../../llm/dto/turn-params.dto';
import { MODEL_ALIAS_MAX } from '../../llm/model-alias';

export const MESSAGE_ROLES = ['system', 'developer', 'user', 'assistant', 'tool'] as const;
export type MessageRole = (typeof MESSAGE_ROLES)[number];

/** A content part; only text parts can be passed on to every provider. */
export interface TextPart {
  type: 'text';
  text: string;
}

/**
 * An image part of a user message: a base64 data URL, or the id of one of the owner's
 * files (remote URLs are never fetched).
 */
export interface ImagePart {
  type: 'image_url';
  image_url: { url: string; detail?: 'auto' | 'low' | 'high' };
}

/** OpenAI's file part of a user message: one of the owner's files, or one sent inline. */
export interface FilePart {
  type: 'file';
  file: { file_id?: string; file_data?: string; filename?: string };
}

export type MessageContent = string | (TextPart | ImagePart | FilePart)[];

/** The image types vision models take, as a base64 data URL: its type and its bytes. */
export const IMAGE_DATA_URL = /^data:(image\/(?:png|jpeg|gif|webp));base64,([A-Za-z0-9+/]*={0,2})$/;
/** What an image part's url or a file part's file_id may be besides a data URL: a file id. */
export const FILE_ID = /^[A-Za-z0-9_-]{1,64}$/;
const FILENAME_MAX = 255;
const DETAILS = ['auto', 'low', 'high'];

const STOP_MAX = 4;
/** OpenAI's limit on the tools of one request. */
export const TOOLS_MAX = 128;
const TOOL_CALLS_MAX = 128;
const CALL_ID_MAX = 256;
const FUNCTION_NAME = /^[a-zA-Z0-9_-]{1,64}$/;
const FUNCTION_NAME_MESSAGE = '$property must be 1-64 of a-z A-Z 0-9 _ - (OpenAI function names)';
const TOOL_CHOICE_MODES = ['auto', 'none', 'required'] as const;

/** OpenAI's `tool_choice`: a mode, or one function by name. */
export type ToolChoiceDto =
  (typeof TOOL_CHOICE_MODES)[number] | { type: 'function'; function: { name: string } };

function isToolChoice(value: unknown): value is ToolChoiceDto {
  if (typeof value === 'string') return (TOOL_CHOICE_MODES as readonly string[]).includes(value);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const { type, function: fn, ...rest } = value as Record<string, unknown>;
  if (type !== 'function' || Object.keys(rest).length > 0) return false;
  if (typeof fn !== 'object' || fn === null) return false;
  const { name, ...others } = fn as Record<string, unknown>;
  return typeof name === 'string' && FUNCTION_NAME.test(name) && Object.keys(others).length === 0;
}

const IsToolChoice = (): PropertyDecorator =>
  ValidateBy({
    name: 'isToolChoice',
    validator: {
      validate: isToolChoice,
      defaultMessage: () =>
        '$property must be "auto", "none", "required" or { "type": "function", "function": { "name": "…" } }',
    },
  });

function isTextPart(value: unknown): value is TextPart {
  if (typeof value !== 'object' || value === null) return false;
  const { type, text, ...rest } = value as Record<string, unknown>;
  return type === 'text' && typeof text === 'string' && Object.keys(rest).length === 0;
}

function isImagePart(value: unknown): value is ImagePart {
  if (typeof value !== 'object' || value === null) return false;
  const { type, image_url: image, ...rest } = value as Record<string, unknown>;
  if (type !== 'image_url' || Object.keys(rest).length > 0) return false;
  if (typeof image !== 'object' || image === null) return false;
  const { url, detail, ...others } = image as Record<string, unknown>;
  return (
    typeof url === 'string' &&
    (IMAGE_DATA_URL.test(url) || FILE_ID.test(url)) &&
    (detail === undefined || DETAILS.includes(detail as string)) &&
    Object.keys(others).length === 0
  );
}

/** `{ file_id }`, or `{ file_data, filename? }` (its data URL is read when mapped). */
function isFilePart(value: unknown): value is FilePart {
  if (typeof value !== 'object' || value === null) return false;
  const { type, file, ...rest } = value as Record<string, unknown>;
  if (type !== 'file' || Object.keys(rest).length > 0) return false;
  if (typeof file !== 'object' || file === null) return false;
  const { file_id: id, file_data: data, filename, ...others } = file as Record<string, unknown>;
  const named =
    filename === undefined || (typeof filename === 'string' && filename.length <= FILENAME_MAX);
  const byId = typeof id === 'string' && FILE_ID.test(id) && data === undefined;
  const inline = typeof data === 'string' && id === undefined;
  return (byId || inline) && named && Object.keys(others).length === 0;
}

/** Text parts anywhere; image and file parts on user messages only. */
function isContent(value: unknown, role: unknown): value is MessageContent {
  if (typeof value === 'string') return true;
  if (!Array.isArray(value)) return false;
  return value.every(
    (part) => isTextPart(part) || (role === 'user' && (isImagePart(part) || isFilePart(part))),
  );
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
        isContent(value, (args?.object as { role?: unknown }).role) ||
        (value == null && (args?.object as { role?: unknown }).role === 'assistant'),
      defaultMessage: (args) =>
        args?.value == null
          ? '$property must be a string or an array of text parts; only an assistant message may have null or no content'
          : '$property must be a string or an array of text parts ({ "type": "text", "text": "…" }), and on a user message image parts ({ "type": "image_url", "image_url": { "url": "data:image/png;base64,…" } }, a base64 data URL of a PNG, JPEG, GIF or WebP image, or the id of your uploaded file from POST /v1/files; remote URLs are not fetched) and file parts ({ "type": "file", "file": { "file_id": "…" } }, or { "file_data": "data:application/pdf;base64,…", "filename": "…" }); audio is not supported',
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

export class ToolCallFunctionDto {
  @ApiProperty({ description: 'The function called', example: 'get_weather' })
  @IsString()
  @Matches(FUNCTION_NAME, { message: FUNCTION_NAME_MESSAGE })
  name!: string;

  @ApiProperty({
    description: 'Its arguments, a JSON object as text, as the model wrote them',
    example: '{"city":"Paris"}',
  })
  @IsString()
  arguments!: string;
}

/** A tool call of an earlier assistant message, as the client sends it back. */
export class ToolCallDto {
  @ApiProperty({ description: 'The call id a tool message answers', example: 'call_abc123' })
  @IsString()
  @MinLength(1)
  @MaxLength(CALL_ID_MAX)
  id!: string;

  @ApiProperty({ enum: ['function'] })
  @IsIn(['function'])
  type!: 'function';

  @ApiProperty({ type: ToolCallFunctionDto })
  @ValidateNested()
  @Type(() => ToolCallFunctionDto)
  function!: ToolCallFunctionDto;
}

export class FunctionDefinitionDto {
  @ApiProperty({ description: 'The name the model calls it by', example: 'get_weather' })
  @IsString()
  @Matches(FUNCTION_NAME, { message: FUNCTION_NAME_MESSAGE })
  name!: string;

  @ApiPropertyOptional({
    description: 'What it does and when to call it, for the model',
    example: 'The current weather in a city',
  })
  @IsOptional()
  @IsString()
  @MaxLength(8192)
  description?: string;

  @ApiPropertyOptional({
    description: 'Its parameters as a JSON Schema object, passed to the provider as given',
    type: 'object',
    additionalProperties: true,
    example: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  })
  @IsOptional()
  @IsObject()
  parameters?: Record<string, unknown>;

  @ApiPropertyOptional({ description: 'Ask the provider to follow the schema exactly' })
  @IsOptional()
  @IsBoolean()
  strict?: boolean;
}

/** A tool the model may call: OpenAI's function tool. */
export class ToolDto {
  @ApiProperty({ enum: ['function'], description: 'Only function tools are served' })
  @IsIn(['function'], { message: 'type must be "function": only function tools are served' })
  type!: 'function';

  @ApiProperty({ type: FunctionDefinitionDto })
  @ValidateNested()
  @Type(() => FunctionDefinitionDto)
  function!: FunctionDefinitionDto;
}

export class ChatCompletionMessageDto {
  @ApiProperty({
    enum: MESSAGE_ROLES,
    description:
      '`developer` is treated as `system`; `tool` answers a call of the assistant message before it',
    example: 'user',
  })
  @IsIn(MESSAGE_ROLES)
  role!: MessageRole;

  @ApiProperty({
    description:
      'A string, or an array of text parts `{ "type": "text", "text": "…" }`; a user message may also have image parts `{ "type": "image_url", "image_url": { "url": "data:image/png;base64,…" } }` (a base64 data URL of a PNG, JPEG, GIF or WebP image, or the id of your file from POST /v1/files or /api/v1/files; remote URLs are not fetched), for model aliases with vision only (else 422 vision_not_supported), and file parts `{ "type": "file", "file": { "file_id": "…" } }` or `{ "type": "file", "file": { "file_data": "data:application/pdf;base64,…", "filename": "report.pdf" } }`: a document goes into the message as a labelled text part (`[Attached: name]` and its extracted text), an image as an image. An inline file is stored as one of your files first (the same bytes and name reuse it). Another owner\'s file is 404 file_not_found, a document still being read 409 file_not_ready, an unreadable one 422 file_unreadable; null or absent on an assistant message (read as empty text), as with tool calls',
    oneOf: [
      { type: 'string' },
      {
        type: 'array',
        items: {
          oneOf: [
            {
              type: 'object',
              properties: { type: { type: 'string', enum: ['text'] }, text: { type: 'string' } },
              required: ['type', 'text'],
            },
            {
              type: 'object',
              properties: {
                type: { type: 'string', enum: ['image_url'] },
                image_url: {
                  type: 'object',
                  properties: {
                    url: { type: 'string' },
                    detail: { type: 'string', enum: ['auto', 'low', 'high'] },
                  },
                  required: ['url'],
                },
              },
              required: ['type', 'image_url'],
            },
            {
              type: 'object',
              properties: {
                type: { type: 'string', enum: ['file'] },
                file: {
                  type: 'object',
                  properties: {
                    file_id: { type: 'string', description: 'The id of one of your files' },
                    file_data: {
                      type: 'string',
                      description: 'The file inline, as a base64 data URL',
                    },
                    filename: { type: 'string', description: 'Its name, with file_data' },
                  },
                },
              },
              required: ['type', 'file'],
            },
          ],
        },
      },
    ],
    example: 'Say hello in French.',
  })
  @IsMessageContent()
  content?: MessageContent | null;

  @ApiPropertyOptional({
    type: [ToolCallDto],
    description: 'An assistant message: the tools it called, each answered by a `tool` message',
  })
  // null is what some clients send for "no calls".
  @ValidateIf((m: ChatCompletionMessageDto) => m.tool_calls != null)
  @ValidateBy({
    name: 'onAssistant',
    validator: {
      validate: (_value, args) => (args?.object as ChatCompletionMessageDto).role === 'assistant',
      defaultMessage: () => 'only an assistant message may have $property',
    },
  })
  @IsArray()
  @ArrayMaxSize(TOOL_CALLS_MAX)
  @ValidateNested({ each: true })
  @Type(() => ToolCallDto)
  tool_calls?: ToolCallDto[] | null;

  @ApiPropertyOptional({
    description: 'A tool message (required there, refused elsewhere): the call it answers',
    example: 'call_abc123',
  })
  @ValidateIf((m: ChatCompletionMessageDto) => m.role === 'tool' || m.tool_call_id !== undefined)
  @ValidateBy({
    name: 'onTool',
    validator: {
      validate: (_value, args) => (args?.object as ChatCompletionMessageDto).role === 'tool',
      defaultMessage: () => 'only a tool message may have $property',
    },
  })
  @IsString()
  @MinLength(1)
  @MaxLength(CALL_ID_MAX)
  tool_call_id?: string;

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

  @ApiPropertyOptional({
    type: ResponseFormatDto,
    description:
      '`json_object` or `json_schema` (with `strict`) are passed to the provider; an alias that cannot honour `json_schema` is refused with 400 `response_format_not_supported`',
  })
  @IsOptional()
  @ValidateNested()
  @Type(() => ResponseFormatDto)
  response_format?: ResponseFormatDto;

  @ApiPropertyOptional({
    type: [ToolDto],
    description: `Functions the model may call (up to ${TOOLS_MAX}); an alias that cannot call tools is refused with 400 \`tools_not_supported\``,
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(TOOLS_MAX)
  @ValidateNested({ each: true })
  @Type(() => ToolDto)
  tools?: ToolDto[];

  @ApiPropertyOptional({
    description:
      '`auto` (the default with tools), `none`, `required`, or one function by name; `required` and a name need `tools`',
    oneOf: [
      { type: 'string', enum: [...TOOL_CHOICE_MODES] },
      {
        type: 'object',
        properties: {
          type: { type: 'string', enum: ['function'] },
          function: {
            type: 'object',
            properties: { name: { type: 'string' } },
            required: ['name'],
          },
        },
        required: ['type', 'function'],
      },
    ],
    example: 'auto',
  })
  @IsOptional()
  @IsToolChoice()
  tool_choice?: ToolChoiceDto;

  @ApiPropertyOptional({
    description: 'Whether the model may call several tools in one reply (passed to the provider)',
    example: true,
  })
  @IsOptional()
  @IsBoolean()
  parallel_tool_calls?: boolean;

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
