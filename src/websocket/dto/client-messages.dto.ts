import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Equals, IsInt, IsOptional, IsString, IsUUID, Max, MaxLength, Min } from 'class-validator';

import { SendMessageDto } from '../../chat/dto/send-message.dto';

export const CLIENT_MESSAGE_TYPES = ['message.send', 'cancel', 'resume'] as const;

const REQUEST_ID_MAX = 200;

/** Fields every client message may carry besides its own. */
class ConversationFrame {
  @ApiProperty({ format: 'uuid', example: '01936f3e-8a4c-7b1e-9d2a-3c4b5d6e7f80' })
  @IsUUID('all', { message: 'conversationId must be a UUID' })
  conversationId!: string;

  @ApiPropertyOptional({
    description:
      'Any string up to 200 characters, echoed on the error or acknowledgement it causes',
    example: 'req-7',
  })
  @IsOptional()
  @IsString()
  @MaxLength(REQUEST_ID_MAX)
  requestId?: string;
}

/** `message.send`: the body of POST …/messages/stream, plus where it goes. */
export class SendMessageFrameDto extends SendMessageDto {
  @ApiProperty({ enum: ['message.send'] })
  @Equals('message.send')
  type!: 'message.send';

  @ApiProperty({ format: 'uuid', example: '01936f3e-8a4c-7b1e-9d2a-3c4b5d6e7f80' })
  @IsUUID('all', { message: 'conversationId must be a UUID' })
  conversationId!: string;

  @ApiPropertyOptional({
    description: 'As the Idempotency-Key header: a retry with the same key replays the turn',
    example: 'a6c1f0e2-retry-safe',
  })
  @IsOptional()
  @IsString()
  idempotencyKey?: string;

  @ApiPropertyOptional({ example: 'req-7' })
  @IsOptional()
  @IsString()
  @MaxLength(REQUEST_ID_MAX)
  requestId?: string;
}

/** `cancel`: stop the conversation's running turn (POST …/cancel). */
export class CancelFrameDto extends ConversationFrame {
  @ApiProperty({ enum: ['cancel'] })
  @Equals('cancel')
  type!: 'cancel';
}

/** `resume`: follow the running turn again, after `lastEventId` (GET …/generation/events). */
export class ResumeFrameDto extends ConversationFrame {
  @ApiProperty({ enum: ['resume'] })
  @Equals('resume')
  type!: 'resume';

  @ApiPropertyOptional({
    description: 'The `id` of the last event received; omitted: the running turn from its start',
    example: 3000012,
  })
  @IsOptional()
  @IsInt({ message: 'lastEventId must be an event id (a whole number)' })
  @Min(0, { message: 'lastEventId must be an event id (a whole number)' })
  @Max(Number.MAX_SAFE_INTEGER, { message: 'lastEventId must be an event id (a whole number)' })
  lastEventId?: number;
}
