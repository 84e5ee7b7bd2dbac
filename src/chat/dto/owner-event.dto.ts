import { Type } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';

import { ConversationDeletedDataDto, ConversationEventDataDto } from '../../conversations';
import { eventFrame } from './chat-event.dto';

// The events of GET /events (OwnerEvents), typed for the OpenAPI document like a turn's.

export class TurnStartedDataDto {
  @ApiProperty({ format: 'uuid', example: '01936f3e-8a4c-7b1e-9d2a-3c4b5d6e7f80' })
  conversationId!: string;

  @ApiProperty({
    format: 'uuid',
    description: 'The reply being generated (its turn id)',
    example: '01936f3e-8a4c-7b1e-9d2a-3c4b5d6e7fa4',
  })
  assistantMessageId!: string;
}

export class TurnFinishedDataDto extends TurnStartedDataDto {
  @ApiProperty({
    enum: ['complete', 'failed', 'cancelled'],
    description: 'How the reply was stored',
    example: 'complete',
  })
  status!: 'complete' | 'failed' | 'cancelled';
}

const OWNER_ID =
  "The frame's `id:`, increasing within this connection only: after a reconnect, refetch what you show";

export class ConversationCreatedOwnerEventDto extends eventFrame(
  'conversation.created',
  ConversationEventDataDto,
  'A conversation was created',
  OWNER_ID,
) {}
export class ConversationUpdatedOwnerEventDto extends eventFrame(
  'conversation.updated',
  ConversationEventDataDto,
  'A conversation changed: PATCH (title, archived, pinned, model, branch…) or a generated title',
  OWNER_ID,
) {}
export class ConversationDeletedOwnerEventDto extends eventFrame(
  'conversation.deleted',
  ConversationDeletedDataDto,
  'A conversation was deleted',
  OWNER_ID,
) {}
export class TurnStartedOwnerEventDto extends eventFrame(
  'turn.started',
  TurnStartedDataDto,
  'A turn started on one of your conversations (any door, any replica)',
  OWNER_ID,
) {}
export class TurnFinishedOwnerEventDto extends eventFrame(
  'turn.finished',
  TurnFinishedDataDto,
  'A turn ended and its reply is stored',
  OWNER_ID,
) {}

export const OWNER_EVENTS: [string, Type<unknown>][] = [
  ['conversation.created', ConversationCreatedOwnerEventDto],
  ['conversation.updated', ConversationUpdatedOwnerEventDto],
  ['conversation.deleted', ConversationDeletedOwnerEventDto],
  ['turn.started', TurnStartedOwnerEventDto],
  ['turn.finished', TurnFinishedOwnerEventDto],
];
