import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsOptional,
  IsString,
  IsUUID,
  ValidateNested,
} from 'class-validator';

import { IsModelAlias } from '../../llm/model-alias';
import { TurnParamsDto } from '../../llm/dto/turn-params.dto';
import { IsMetadata, IsSpeakerName } from './speaker';
import { TurnToolsDto } from './turn-tools.dto';

/** The most files one message may carry. */
export const MAX_ATTACHMENTS = 10;

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
    type: [String],
    maxItems: MAX_ATTACHMENTS,
    description:
      'Ids of your files (POST /api/v1/files) the message carries, at most 10, in order. Images are shown to aliases with vision (else 422 vision_not_supported); documents go into the prompt as text, counted in the token budget. A file that is not yours answers 404 file_not_found, a document still being read 409 file_not_ready, one that could not be read 422 file_unreadable. Stored with the message and shown with it.',
    example: ['01936f3e-8a4c-7b1e-9d2a-3c4b5d6e7f80'],
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_ATTACHMENTS)
  @IsUUID('all', { each: true })
  attachments?: string[];

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
