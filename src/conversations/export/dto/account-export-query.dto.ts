import { ApiProperty } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';

import { AccessTokenQueryDto } from '../../../auth/dto/access-token-query.dto';
import { EXPORT_FORMATS, ExportFormat } from '../export-format';
import { EXPORT_INCLUDES } from './export-query.dto';

export class AccountExportQueryDto extends AccessTokenQueryDto {
  @ApiProperty({
    enum: EXPORT_FORMATS,
    required: false,
    default: 'json',
    description:
      'json (default): { exportedAt, conversations: [ { conversation, messages } ] }, every conversation with its whole tree (every branch); markdown: each conversation as its markdown export shows it (the current path), one after another',
  })
  @IsOptional()
  @IsIn(EXPORT_FORMATS, { message: 'format must be json or markdown' })
  format: ExportFormat = 'json';

  @ApiProperty({
    enum: EXPORT_INCLUDES,
    required: false,
    description:
      'files: the json export also embeds every file the messages carry, once for the whole account, under `files` with its bytes as base64 in `data`. json only (with markdown: 400)',
  })
  @IsOptional()
  @IsIn(EXPORT_INCLUDES, { message: 'include must be files' })
  include?: (typeof EXPORT_INCLUDES)[number];
}
