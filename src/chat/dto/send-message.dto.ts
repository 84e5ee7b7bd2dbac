import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsOptional, IsString, Matches, MaxLength, ValidateNested } from 'class-validator';

import { MODEL_ALIAS_PATTERN } from '../../conversations/dto/create-conversation.dto';
import { GenerationParamsDto } from '../../conversations/dto/generation-params.dto';

export class SendMessageDto {
  @ApiProperty({
    description:
      'The user message; not empty, at most MESSAGE_MAX_CHARS characters (100,000 by default)',
    example: 'What should I see in Lisbon in one day?',
  })
  @IsString()
  message!: string;

  @ApiPropertyOptional({
    description: "Model alias for this turn only; else the conversation's",
    example: 'lmstudio/default',
  })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  @Matches(MODEL_ALIAS_PATTERN, { message: 'model must be an alias like provider/name' })
  model?: string;

  @ApiPropertyOptional({
    type: GenerationParamsDto,
    description: "Override the conversation's params for this turn only",
  })
  @IsOptional()
  @ValidateNested()
  @Type(() => GenerationParamsDto)
  params?: GenerationParamsDto;
}
