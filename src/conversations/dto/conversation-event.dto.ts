import { ApiProperty, PickType } from '@nestjs/swagger';

import { ConversationResponseDto } from './conversation-response.dto';

/**
 * A conversation as owner events carry it: what a list row shows, without the system
 * prompt or params (a notification holds less than 8000 bytes).
 */
export const CONVERSATION_EVENT_FIELDS = [
  'id',
  'title',
  'titleSource',
  'topics',
  'archived',
  'pinned',
  'model',
  'updatedAt',
  'lastMessageAt',
] as const;

export class ConversationEventDataDto extends PickType(
  ConversationResponseDto,
  CONVERSATION_EVENT_FIELDS,
) {}

export class ConversationDeletedDataDto {
  @ApiProperty({ format: 'uuid', example: '01936f3e-8a4c-7b1e-9d2a-3c4b5d6e7f80' })
  id!: string;
}
