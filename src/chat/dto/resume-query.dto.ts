import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, Matches } from 'class-validator';

import { AccessTokenQueryDto } from '../../auth/dto/access-token-query.dto';
import { AppException } from '../../common/errors/app.exception';

const EVENT_ID = /^\d{1,16}$/;

export class ResumeQueryDto extends AccessTokenQueryDto {
  @ApiPropertyOptional({
    description:
      'Same as the Last-Event-ID header: the `id:` of the last event received. Omit to replay from the start',
  })
  @IsOptional()
  @Matches(EVENT_ID, { message: 'lastEventId must be an event id (a whole number)' })
  lastEventId?: string;
}

/** The id a client last received; 0 (from the start) when it sent none. */
export function parseLastEventId(value: string | undefined): number {
  if (value === undefined || value === '') return 0;
  if (!EVENT_ID.test(value)) {
    throw new AppException(
      'invalid_last_event_id',
      'Last-Event-ID must be the id of an event this stream sent',
    );
  }
  return Number(value);
}
