import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsUUID } from 'class-validator';

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
}
