import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsUUID } from 'class-validator';

import { PageQueryDto } from '../../common/pagination/page.dto';

export class MessagesQueryDto extends PageQueryDto {
  @ApiPropertyOptional({
    format: 'uuid',
    description:
      'Read the path ending at this message (another branch) instead of the current one; any message of the conversation',
    example: '01936f3e-8a4c-7b1e-9d2a-3c4b5d6e7f90',
  })
  @IsOptional()
  @IsUUID('all', { message: 'leafId must be a UUID' })
  leafId?: string;

  @ApiPropertyOptional({
    enum: ['asc', 'desc'],
    default: 'asc',
    description:
      'asc: oldest first (root → leaf); desc: newest first, nextCursor going on towards older messages (a chat opening at its end)',
    example: 'desc',
  })
  @IsOptional()
  @IsIn(['asc', 'desc'], { message: 'order must be asc or desc' })
  order: 'asc' | 'desc' = 'asc';
}
