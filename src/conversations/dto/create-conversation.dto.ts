import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsNotEmpty,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  ValidateNested,
} from 'class-validator';

import { IsModelAlias } from '../../llm/model-alias';
import { GenerationParamsDto } from '../../llm/dto/generation-params.dto';
import { serverToolsField, ToolDefinitionDto, toolsField } from '../../llm/dto/tools.dto';

export const TITLE_MAX = 200;
export const SYSTEM_PROMPT_MAX = 20_000;

export class CreateConversationDto {
  @ApiPropertyOptional({ maxLength: TITLE_MAX, example: 'Trip to Lisbon' })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @Matches(/\S/, { message: 'title must not be blank' })
  @MaxLength(TITLE_MAX)
  title?: string;

  @ApiPropertyOptional({
    description: 'Instructions sent first on every turn; a default applies when omitted',
    maxLength: SYSTEM_PROMPT_MAX,
    example: 'You are a concise travel assistant.',
  })
  @IsOptional()
  @IsString()
  @Matches(/\S/, { message: 'systemPrompt must not be blank' })
  @MaxLength(SYSTEM_PROMPT_MAX)
  systemPrompt?: string;

  @ApiPropertyOptional({
    description: 'Model alias (see GET /api/v1/models); DEFAULT_MODEL when omitted',
    example: 'lmstudio/default',
  })
  @IsOptional()
  @IsModelAlias()
  model?: string;

  @ApiPropertyOptional({ type: GenerationParamsDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => GenerationParamsDto)
  params?: GenerationParamsDto;

  @toolsField(
    "Function tools every turn offers the model unless a send gives its own `tools` (OpenAI's definitions); see docs/tools.md",
  )
  tools?: ToolDefinitionDto[];

  @serverToolsField(
    'MCP server tools every turn may call, run by the service: `<server>/<tool>` or `<server>/*` of the servers the operator configured',
  )
  serverTools?: string[];
}
