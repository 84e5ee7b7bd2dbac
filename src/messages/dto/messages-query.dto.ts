import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsUUID } from 'class-validator';

import { PageQueryDto } from '../../common/pagination/page.dto';

export class MessagesQueryDto extends PageQueryDto {
  @ApiPropertyOptional({
    format: 'uuid',
    description:
      'Read the path ending at this message (another branch) instead of the current one; any message of the conversation (its id, from GET …/messages). Omit for the current path',
  })
  @IsOptional()
  @IsUUID('all', { message: 'leafId must be a UUID' })
  leafId?: string;

  @ApiPropertyOptional({
    enum: ['asc', 'desc'],
    default: 'asc',
    description:
      'asc: oldest first (root → leaf); desc: newest first, nextCursor going on towards older messages (a chat opening at its end)',
  })
  @IsOptional()
  @IsIn(['asc', 'desc'], { message: 'order must be asc or desc' })
  order: 'asc' | 'desc' = 'asc';
}
