import { Controller, Get, Query, StreamableFile } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiExtraModels,
  ApiOperation,
  ApiProduces,
  ApiResponse,
  ApiSecurity,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';

import { CurrentOwner, QueryToken } from '../../auth/current-owner.decorator';
import { ApiErrors } from '../../common/http/api-errors.decorator';
import { AccountExportService } from './account-export.service';
import { AccountExportQueryDto } from './dto/account-export-query.dto';
import { AccountExportDto } from './dto/conversation-export.dto';

const MARKDOWN_EXAMPLE = [
  '# Chat export',
  '',
  '- exported: 2026-12-07T19:00:00.000Z',
  '',
  '# Trip to Lisbon',
  '',
  '- id: 01936f3e-8a4c-7b1e-9d2a-3c4b5d6e7f80',
  '- model: lmstudio/default',
  '- created: 2026-11-21T10:00:00.000Z',
  '',
  '## User',
  '',
  'Plan one day in Lisbon.',
  '',
  '## Assistant (lmstudio/default)',
  '',
  'Start at Belém…',
  '',
  '# Tea',
  '',
  '- id: 01936f3f-1b2c-7d3e-8f4a-5b6c7d8e9f01',
  '…',
].join('\n');

/** "Download all my data": every conversation of the owner in one file. */
@ApiTags('conversations')
@ApiBearerAuth()
@ApiSecurity('api-key')
@ApiErrors(401, 429, 503)
@Controller('export')
export class AccountExportController {
  constructor(private readonly exports: AccountExportService) {}

  @Get()
  @QueryToken()
  @ApiOperation({
    summary: 'Download all your conversations as JSON or Markdown',
    description:
      'Every conversation of the account, archived ones too, oldest first, each as its own ' +
      'export gives it, in one file (Content-Disposition: attachment, dated). Streamed as it ' +
      'is read from the database: any number of conversations and messages. With ' +
      'include=files the json document also embeds each attached file once (base64).',
  })
  @ApiProduces('application/json', 'text/markdown')
  @ApiExtraModels(AccountExportDto)
  @ApiResponse({
    status: 200,
    description: 'The document',
    content: {
      'application/json': { schema: { $ref: getSchemaPath(AccountExportDto) } },
      'text/markdown': { schema: { type: 'string' }, example: MARKDOWN_EXAMPLE },
    },
  })
  @ApiErrors(400)
  export(
    @CurrentOwner() owner: string,
    @Query() { format, include }: AccountExportQueryDto,
  ): StreamableFile {
    const document = this.exports.open(owner, { format, files: include === 'files' });
    return new StreamableFile(document.body, {
      type: document.contentType,
      disposition: `attachment; filename="${document.fileName}"`,
    });
  }
}
