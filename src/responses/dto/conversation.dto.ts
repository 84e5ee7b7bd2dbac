import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsObject, IsOptional } from 'class-validator';

import { IsMetadata, METADATA_SCHEMA } from './create-response.dto';

const ITEMS_DESCRIPTION =
  'Messages `{ role, content }` (`type: "message"` optional), content a string or `input_text` / `output_text` parts; stored in order at the end of the conversation, without a reply';

/** The body of `POST /v1/conversations`. */
export class CreateOpenAiConversationDto {
  @ApiPropertyOptional({
    description: `${ITEMS_DESCRIPTION}. system and developer items become the system prompt.`,
    type: 'array',
    items: { type: 'object' },
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(20)
  @IsObject({ each: true })
  items?: Record<string, unknown>[] | null;

  @ApiPropertyOptional({ ...METADATA_SCHEMA, nullable: true })
  @IsOptional()
  @IsMetadata()
  metadata?: Record<string, string> | null;
}

/** The body of `POST /v1/conversations/{id}`. */
export class UpdateOpenAiConversationDto {
  @ApiProperty({ ...METADATA_SCHEMA, nullable: true, description: 'Replaces the metadata' })
  @IsMetadata()
  metadata!: Record<string, string>;
}

/** The body of `POST /v1/conversations/{id}/items`. */
export class CreateConversationItemsDto {
  @ApiProperty({ description: ITEMS_DESCRIPTION, type: 'array', items: { type: 'object' } })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(20)
  @IsObject({ each: true })
  items!: Record<string, unknown>[];
}
