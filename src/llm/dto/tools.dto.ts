import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  ValidateBy,
  ValidateNested,
} from 'class-validator';

import type { ToolCall, ToolChoice, ToolDefinition } from '../llm.types';

/** OpenAI's function names: what every provider accepts. */
export const TOOL_NAME = /^[A-Za-z0-9_-]{1,64}$/;
/** Most tools offered at once (OpenAI's own limit). */
export const MAX_TOOLS = 128;

export class FunctionDefinitionDto {
  @ApiProperty({
    description: 'The function name (1–64 of A–Z a–z 0–9 _ -)',
    example: 'get_weather',
  })
  @IsString()
  @Matches(TOOL_NAME, { message: 'function.name must be 1–64 of A–Z a–z 0–9 _ -' })
  name!: string;

  @ApiPropertyOptional({
    description: 'What it does and when to call it: the model reads this',
    example: 'The current weather in a city',
  })
  @IsOptional()
  @IsString()
  @MaxLength(4000)
  description?: string;

  @ApiPropertyOptional({
    description: 'Its arguments, as a JSON Schema object',
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

/** An OpenAI function tool: `{ type: "function", function: { name, description, parameters } }`. */
export class ToolDefinitionDto {
  @ApiProperty({ enum: ['function'], example: 'function' })
  @IsIn(['function'])
  type!: 'function';

  @ApiProperty({ type: FunctionDefinitionDto })
  @ValidateNested()
  @Type(() => FunctionDefinitionDto)
  function!: FunctionDefinitionDto;
}

/** A tool call the model made, as stored with its reply. */
export class ToolCallDto {
  @ApiProperty({ description: 'The call id a tool result answers', example: 'call_0_get_weather' })
  id!: string;

  @ApiProperty({ description: 'The function called', example: 'get_weather' })
  name!: string;

  @ApiProperty({
    description: 'Its arguments as the model sent them: JSON text, usually an object',
    example: '{"city":"Lisbon"}',
  })
  arguments!: string;
}

const CHOICES = ['auto', 'none', 'required'];

/** `auto`, `none`, `required`, or `{ type: "function", function: { name } }`. */
export function IsToolChoice() {
  return ValidateBy({
    name: 'isToolChoice',
    validator: {
      validate: (value: unknown) => {
        if (typeof value === 'string') return CHOICES.includes(value);
        const named = value as { type?: unknown; function?: { name?: unknown } } | null;
        return (
          typeof named === 'object' &&
          named !== null &&
          named.type === 'function' &&
          typeof named.function?.name === 'string' &&
          TOOL_NAME.test(named.function.name)
        );
      },
      defaultMessage: () =>
        'toolChoice must be "auto", "none", "required" or { "type": "function", "function": { "name": "<tool>" } }',
    },
  });
}

export const TOOL_CHOICE_SCHEMA = {
  oneOf: [
    { type: 'string', enum: CHOICES },
    {
      type: 'object',
      required: ['type', 'function'],
      properties: {
        type: { type: 'string', enum: ['function'] },
        function: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } },
      },
    },
  ],
  description:
    'Whether the model may (`auto`, the default), must not (`none`) or must (`required`) call a tool, or which one it must call',
  example: 'auto',
};

/** The tools' names are distinct: a model could not tell two of one name apart. */
export function HasDistinctToolNames() {
  return ValidateBy({
    name: 'hasDistinctToolNames',
    validator: {
      validate: (value: unknown) => {
        if (!Array.isArray(value)) return true;
        const names = value.map((t: ToolDefinitionDto | undefined) => t?.function?.name);
        return new Set(names).size === names.length;
      },
      defaultMessage: () => 'tools must have distinct function names',
    },
  });
}

/** The decorators of a `tools` field: an array of at most MAX_TOOLS distinct function tools. */
export function toolsField(description: string) {
  const decorators = [
    ApiPropertyOptional({ type: [ToolDefinitionDto], maxItems: MAX_TOOLS, description }),
    IsOptional(),
    IsArray(),
    ArrayMaxSize(MAX_TOOLS),
    ValidateNested({ each: true }),
    Type(() => ToolDefinitionDto),
    HasDistinctToolNames(),
  ];
  return (target: object, key: string) => decorators.forEach((d) => d(target, key));
}

export function toToolDefinitions(tools: ToolDefinitionDto[]): ToolDefinition[] {
  return tools.map(({ function: f }) => ({
    name: f.name,
    ...(f.description !== undefined && { description: f.description }),
    ...(f.parameters !== undefined && { parameters: f.parameters }),
    ...(f.strict !== undefined && { strict: f.strict }),
  }));
}

export function toToolDefinitionDtos(tools: ToolDefinition[]): ToolDefinitionDto[] {
  return tools.map((definition) => ({ type: 'function', function: { ...definition } }));
}

export type ToolChoiceDto =
  'auto' | 'none' | 'required' | { type: 'function'; function: { name: string } };

export function toToolChoice(choice: ToolChoiceDto): ToolChoice {
  return typeof choice === 'string' ? choice : { name: choice.function.name };
}

export function toToolCallDtos(calls: ToolCall[] | null): ToolCallDto[] | null {
  return calls && calls.map(({ id, name, arguments: args }) => ({ id, name, arguments: args }));
}

/** `<server>/<tool>` or `<server>/*`: which MCP tools the operator configured a turn may call. */
export const SERVER_TOOL_PATTERN = /^[A-Za-z0-9_.-]{1,64}\/([A-Za-z0-9_.-]{1,128}|\*)$/;

/** The decorators of a `serverTools` field: at most MAX_TOOLS patterns. */
export function serverToolsField(description: string) {
  const decorators = [
    ApiPropertyOptional({
      type: [String],
      maxItems: MAX_TOOLS,
      description,
      example: ['files/*', 'web/fetch'],
    }),
    IsOptional(),
    IsArray(),
    ArrayMaxSize(MAX_TOOLS),
    Matches(SERVER_TOOL_PATTERN, {
      each: true,
      message: 'each serverTools entry must be "<server>/<tool>" or "<server>/*"',
    }),
  ];
  return (target: object, key: string) => decorators.forEach((d) => d(target, key));
}
