import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsOptional, IsString, ValidateNested } from 'class-validator';

import { IsModelAlias } from '../../llm/model-alias';
import { TurnParamsDto } from '../../llm/dto/turn-params.dto';
import { IsMetadata, IsSpeakerName } from './speaker';
import { TurnToolsDto } from './turn-tools.dto';

export class SendMessageDto extends TurnToolsDto {
  @ApiProperty({
    description:
      'The user message; not empty, at most MESSAGE_MAX_CHARS characters (100,000 by default)',
    example: 'What should I see in Lisbon in one day?',
  })
  @IsString()
  message!: string;

  @ApiPropertyOptional({
    description:
      // No `$` here: Swagger UI's init script is built with String.replace, which reads
      // `$` followed by a backtick or quote as a replacement pattern and breaks the page.
      "Who spoke: 1–64 characters, no control characters. Stored, shown in the message list and the exports, and sent as the message's `name` to providers that take it (some accept only letters, digits, `_` and `-`)",
    example: 'alice',
    minLength: 1,
    maxLength: 64,
  })
  @IsOptional()
  @IsSpeakerName()
  name?: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'string', maxLength: 512 },
    maxProperties: 16,
    description:
      'Free-form metadata stored with the message (e.g. emotes): a flat object, at most 16 keys of at most 64 characters, string values of at most 512',
    example: { emote: 'smiles' },
  })
  @IsOptional()
  @IsMetadata()
  metadata?: Record<string, string>;

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
