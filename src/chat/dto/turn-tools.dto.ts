import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsOptional,
  IsString,
  Length,
  ValidateNested,
} from 'class-validator';

import { TurnParamsDto } from '../../llm/dto/turn-params.dto';
import {
  IsToolChoice,
  MAX_TOOLS,
  serverToolsField,
  TOOL_CHOICE_SCHEMA,
  ToolChoiceDto,
  ToolDefinitionDto,
  toolsField,
} from '../../llm/dto/tools.dto';
import { IsModelAlias } from '../../llm/model-alias';

/** The tools a turn offers the model: its own, else the conversation's (docs/tools.md). */
export class TurnToolsDto {
  @toolsField(
    "Function tools the model may call on this turn (OpenAI's definitions); the conversation's `tools` when absent, none when empty. A reply that calls them is stored with `toolCalls` and status `requires_action`",
  )
  tools?: ToolDefinitionDto[];

  @serverToolsField(
    "MCP server tools the model may call on this turn, run by the service (docs/tools.md); the conversation's `serverTools` when absent",
  )
  serverTools?: string[];

  @ApiPropertyOptional(TOOL_CHOICE_SCHEMA)
  @IsOptional()
  @IsToolChoice()
  toolChoice?: ToolChoiceDto;
}

export class ToolResultDto {
  @ApiProperty({
    description: "The id of the call this answers (from the reply's `toolCalls`)",
    example: 'call_0_get_weather',
  })
  @IsString()
  @Length(1, 200)
  toolCallId!: string;

  @ApiProperty({
    description:
      'What the tool returned, as text (JSON is text too); at most MESSAGE_MAX_CHARS characters',
    example: '{"temperature":21,"sky":"clear"}',
  })
  @IsString()
  output!: string;
}

/** The results of every call a waiting reply made; the model then answers on. */
export class ToolResultsDto extends TurnToolsDto {
  @ApiProperty({ type: [ToolResultDto], minItems: 1, maxItems: MAX_TOOLS })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_TOOLS)
  @ValidateNested({ each: true })
  @Type(() => ToolResultDto)
  results!: ToolResultDto[];

  @ApiPropertyOptional({
    description: "Model alias for the next reply only; else the conversation's",
    example: 'lmstudio/default',
  })
  @IsOptional()
  @IsModelAlias()
  model?: string;

  @ApiPropertyOptional({
    type: TurnParamsDto,
    description: "Override the conversation's params for the next reply only",
  })
  @IsOptional()
  @ValidateNested()
  @Type(() => TurnParamsDto)
  params?: TurnParamsDto;
}
