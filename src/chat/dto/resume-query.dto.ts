import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, Matches } from 'class-validator';

import { AppException } from '../../common/errors/app.exception';

export class ResumeQueryDto {
  @ApiPropertyOptional({ description: 'Same as the Last-Event-ID header', example: '12' })
  @IsOptional()
  @Matches(/^\d{1,9}$/, { message: 'lastEventId must be an event id (a whole number)' })
  lastEventId?: string;
}

/** Event ids are positions from 1; resuming after id N replays from index N. */
export function parseLastEventId(value: string | undefined): number {
  if (value === undefined || value === '') return 0;
  if (!/^\d{1,9}$/.test(value)) {
    throw new AppException(
      'invalid_last_event_id',
      'Last-Event-ID must be the id of an event this stream sent',
    );
  }
  return Number(value);
}
