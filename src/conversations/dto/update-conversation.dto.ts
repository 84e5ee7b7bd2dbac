import { serverToolsField, ToolDefinitionDto, toolsField } from '../../llm/dto/tools.dto';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsBoolean,
  IsObject,
  IsOptional,
  IsString,
  IsUUID,
  Matches,
  MaxLength,
  ValidateIf,
  ValidateNested,
} from 'class-validator';

import { SYSTEM_PROMPT_MAX, TITLE_MAX } from './create-conversation.dto';
import { IsModelAlias } from '../../llm/model-alias';
import { GenerationParamsDto } from '../../llm/dto/generation-params.dto';

/** Fields left out stay as they are; `null` clears a field back to its default. */
export class UpdateConversationDto {
  @toolsField(
    'The function tools every turn offers the model unless a send gives its own `tools`; replaces the list, null or [] clears it',
  )
  tools?: ToolDefinitionDto[] | null;

  @serverToolsField('MCP server tools every turn may call; replaces the list, [] clears it')
  serverTools?: string[];

  @ApiPropertyOptional({
    type: String,
    maxLength: TITLE_MAX,
    nullable: true,
    description:
      'Your title is never replaced by a generated one; null clears it (and lets the next reply name the conversation)',
    example: 'Trip to Porto',
  })
  @ValidateIf((_, v) => v !== null && v !== undefined)
  @IsString()
  @Matches(/\S/, { message: 'title must not be blank' })
  @MaxLength(TITLE_MAX)
  title?: string | null;

  @ApiPropertyOptional({
    type: String,
    maxLength: SYSTEM_PROMPT_MAX,
    nullable: true,
    example: 'Answer in Portuguese.',
  })
  @ValidateIf((_, v) => v !== null && v !== undefined)
  @IsString()
  @Matches(/\S/, { message: 'systemPrompt must not be blank' })
  @MaxLength(SYSTEM_PROMPT_MAX)
  systemPrompt?: string | null;

  @ApiPropertyOptional({ type: String, nullable: true, example: 'lmstudio/default' })
  @ValidateIf((_, v) => v !== null && v !== undefined)
  @IsModelAlias()
  model?: string | null;

  @ApiPropertyOptional({
    type: GenerationParamsDto,
    nullable: true,
    description: 'Replaces all params; null clears them',
  })
  @ValidateIf((_, v) => v !== null && v !== undefined)
  @IsObject()
  @ValidateNested()
  @Type(() => GenerationParamsDto)
  params?: GenerationParamsDto | null;

  @ApiPropertyOptional({
    format: 'uuid',
    description:
      'Switch branch: any message of the conversation. The path then ends at the newest message below it ' +
      '(the branch as it was last continued), and the next turn continues from there. 409 while a turn runs',
    example: '01936f3e-8a4c-7b1e-9d2a-3c4b5d6e7f90',
  })
  @IsOptional()
  @IsUUID('all', { message: 'currentLeafId must be a UUID' })
  currentLeafId?: string;

  @ApiPropertyOptional({
    description: 'Archived conversations leave the default list (GET ?archived=true shows them)',
    example: true,
  })
  @IsOptional()
  @IsBoolean()
  archived?: boolean;

  @ApiPropertyOptional({ description: 'Pinned conversations are listed first', example: true })
  @IsOptional()
  @IsBoolean()
  pinned?: boolean;
}
