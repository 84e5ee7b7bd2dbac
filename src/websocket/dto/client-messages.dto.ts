import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import {
  Equals,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUUID,
  Max,
  MaxLength,
  Min,
} from 'class-validator';

import { RegenerateDto, SendMessageDto, ToolResultsDto } from '../../chat';

/** A client's own id for a request, echoed on the error or acknowledgement it causes. */
const REQUEST_ID_MAX = 200;

const NOT_AN_EVENT_ID = 'lastEventId must be an event id (a whole number)';

/**
 * The id of the last turn event a client received, as `resume` takes it and as a same-key
 * re-send takes it (the Last-Event-ID of a re-POSTed stream). SSE hands ids to clients as
 * strings (EventSource's lastEventId): "42" is taken as 42.
 */
const LastEventId = (): PropertyDecorator =>
  applyDecorators(
    IsOptional(),
    Transform(({ value }: { value: unknown }) =>
      typeof value === 'string' && /^\d{1,16}$/.test(value) ? Number(value) : value,
    ),
    IsInt({ message: NOT_AN_EVENT_ID }),
    Min(0, { message: NOT_AN_EVENT_ID }),
    Max(Number.MAX_SAFE_INTEGER, { message: NOT_AN_EVENT_ID }),
  );

/** Fields every client message may carry besides its own. */
class ConversationFrame {
  @IsUUID('all', { message: 'conversationId must be a UUID' })
  conversationId!: string;

  @IsOptional()
  @IsString()
  @MaxLength(REQUEST_ID_MAX)
  requestId?: string;
}

/** `message.send`: the body of POST …/messages/stream, plus where it goes. */
export class SendMessageFrameDto extends SendMessageDto {
  @Equals('message.send')
  type!: 'message.send';

  @IsUUID('all', { message: 'conversationId must be a UUID' })
  conversationId!: string;

  /** As the Idempotency-Key header; ChatService checks its form, as for HTTP. */
  @IsOptional()
  @IsString()
  idempotencyKey?: string;

  /** With the same idempotencyKey: the last event already received; later ones only. */
  @LastEventId()
  lastEventId?: number;

  @IsOptional()
  @IsString()
  @MaxLength(REQUEST_ID_MAX)
  requestId?: string;
}

/** `message.regenerate`: the body of POST …/messages/:messageId/regenerate/stream, plus where. */
export class RegenerateFrameDto extends RegenerateDto {
  @Equals('message.regenerate')
  type!: 'message.regenerate';

  @IsUUID('all', { message: 'conversationId must be a UUID' })
  conversationId!: string;

  @IsUUID('all', { message: 'messageId must be a UUID' })
  messageId!: string;

  @IsOptional()
  @IsString()
  idempotencyKey?: string;

  /** With the same idempotencyKey: the last event already received; later ones only. */
  @LastEventId()
  lastEventId?: number;

  @IsOptional()
  @IsString()
  @MaxLength(REQUEST_ID_MAX)
  requestId?: string;
}

/** `message.edit`: the body of POST …/messages/:messageId/edit/stream, plus where. */
export class EditFrameDto extends SendMessageDto {
  @Equals('message.edit')
  type!: 'message.edit';

  @IsUUID('all', { message: 'conversationId must be a UUID' })
  conversationId!: string;

  @IsUUID('all', { message: 'messageId must be a UUID' })
  messageId!: string;

  @IsOptional()
  @IsString()
  idempotencyKey?: string;

  /** With the same idempotencyKey: the last event already received; later ones only. */
  @LastEventId()
  lastEventId?: number;

  @IsOptional()
  @IsString()
  @MaxLength(REQUEST_ID_MAX)
  requestId?: string;
}

/** `message.toolResults`: the body of POST …/messages/:messageId/tool-results/stream, plus where. */
export class ToolResultsFrameDto extends ToolResultsDto {
  @Equals('message.toolResults')
  type!: 'message.toolResults';

  @IsUUID('all', { message: 'conversationId must be a UUID' })
  conversationId!: string;

  @IsUUID('all', { message: 'messageId must be a UUID' })
  messageId!: string;

  @IsOptional()
  @IsString()
  idempotencyKey?: string;

  /** With the same idempotencyKey: the last event already received; later ones only. */
  @LastEventId()
  lastEventId?: number;

  @IsOptional()
  @IsString()
  @MaxLength(REQUEST_ID_MAX)
  requestId?: string;
}

/** `cancel`: stop the conversation's running turn (POST …/cancel). */
export class CancelFrameDto extends ConversationFrame {
  @Equals('cancel')
  type!: 'cancel';
}

/** `resume`: follow the running turn again, after `lastEventId` (GET …/generation/events). */
export class ResumeFrameDto extends ConversationFrame {
  @Equals('resume')
  type!: 'resume';

  @LastEventId()
  lastEventId?: number;
}

/** `events.subscribe` / `events.unsubscribe`: the owner's events (as GET /events) on this socket. */
export class EventsFrameDto {
  @IsIn(['events.subscribe', 'events.unsubscribe'])
  type!: 'events.subscribe' | 'events.unsubscribe';

  @IsOptional()
  @IsString()
  @MaxLength(REQUEST_ID_MAX)
  requestId?: string;
}
