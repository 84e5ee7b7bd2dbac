import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsObject,
  IsString,
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
  @ApiPropertyOptional({
    type: String,
    maxLength: TITLE_MAX,
    nullable: true,
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

  @ApiPropertyOptional({ type: String, nullable: true, example: 'groq/llama-3.3-70b' })
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
}
