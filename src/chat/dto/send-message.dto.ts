import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsOptional, IsString, ValidateNested } from 'class-validator';

import { IsModelAlias } from '../../llm/model-alias';
import { TurnParamsDto } from '../../llm/dto/turn-params.dto';

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
  @IsModelAlias()
  model?: string;

  @ApiPropertyOptional({
    type: TurnParamsDto,
    description:
      "Override the conversation's params for this turn only; `jsonMode` and `responseFormat` apply to this turn only",
  })
  @IsOptional()
  @ValidateNested()
  @Type(() => TurnParamsDto)
  params?: TurnParamsDto;
}
