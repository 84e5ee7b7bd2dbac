import { ApiProperty } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';

import { AccessTokenQueryDto } from '../../../auth/dto/access-token-query.dto';
import { EXPORT_FORMATS, ExportFormat } from '../export-format';

export class ExportQueryDto extends AccessTokenQueryDto {
  @ApiProperty({
    enum: EXPORT_FORMATS,
    required: false,
    default: 'json',
    description:
      'json (default): { conversation, messages }, the whole tree (every branch, each message with its parentId); markdown: the current path as a readable document',
  })
  @IsOptional()
  @IsIn(EXPORT_FORMATS, { message: 'format must be json or markdown' })
  format: ExportFormat = 'json';
}
