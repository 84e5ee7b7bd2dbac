import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsOptional, IsUUID, ValidateNested } from 'class-validator';

import { GenerationParamsDto } from '../../llm/dto/generation-params.dto';
import { IsModelAlias } from '../../llm/model-alias';
import { SendMessageDto } from './send-message.dto';

export class MessageIdParams {
  @ApiProperty({ format: 'uuid', example: '01936f3e-8a4c-7b1e-9d2a-3c4b5d6e7f80' })
  @IsUUID('all', { message: 'id must be a UUID' })
  id!: string;

  @ApiProperty({
    format: 'uuid',
    description: 'A message of the conversation (see GET …/messages)',
    example: '01936f3e-8a4c-7b1e-9d2a-3c4b5d6e7f82',
  })
  @IsUUID('all', { message: 'messageId must be a UUID' })
  messageId!: string;
}

/** Everything optional: a regenerate answers the stored user message again. */
export class RegenerateDto {
  @ApiPropertyOptional({
    description: "Model alias for this reply only; else the conversation's",
    example: 'groq/llama-3.3-70b',
  })
  @IsOptional()
  @IsModelAlias()
  model?: string;

  @ApiPropertyOptional({
    type: GenerationParamsDto,
    description: "Override the conversation's params for this reply only",
  })
  @IsOptional()
  @ValidateNested()
  @Type(() => GenerationParamsDto)
  params?: GenerationParamsDto;
}

/** The new text of the user message; it is stored beside the old one, which stays. */
export class EditMessageDto extends SendMessageDto {}
