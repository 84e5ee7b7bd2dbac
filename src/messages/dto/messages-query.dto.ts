import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsUUID } from 'class-validator';

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
}
