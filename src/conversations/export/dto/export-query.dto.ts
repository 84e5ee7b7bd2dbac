import { ApiProperty } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';

import { AccessTokenQueryDto } from '../../../auth/dto/access-token-query.dto';
import { EXPORT_FORMATS, ExportFormat } from '../export-format';

export const EXPORT_INCLUDES = ['files'] as const;

export class ExportQueryDto extends AccessTokenQueryDto {
  @ApiProperty({
    enum: EXPORT_FORMATS,
    required: false,
    default: 'json',
    description:
      'json (default): { conversation, messages }, the whole tree (every branch, each message with its parentId); markdown: the current path as a readable document, each message with the files it carries (name, type, size, id)',
  })
  @IsOptional()
  @IsIn(EXPORT_FORMATS, { message: 'format must be json or markdown' })
  format: ExportFormat = 'json';

  @ApiProperty({
    enum: EXPORT_INCLUDES,
    required: false,
    description:
      'files: the json export also embeds every attached file once, under `files`, with its bytes as base64 in `data` (streamed as read from storage, so any size). Without it, messages list their attachments and the bytes stay at GET /api/v1/files/{id}/content. json only (with markdown: 400)',
  })
  @IsOptional()
  @IsIn(EXPORT_INCLUDES, { message: 'include must be files' })
  include?: (typeof EXPORT_INCLUDES)[number];
}
