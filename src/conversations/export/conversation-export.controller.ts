import { Controller, Get, Param, Query, StreamableFile } from '@nestjs/common';
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
import { ApiConversationId, ConversationIdPipe } from '../../history/conversation-id.pipe';
import { ConversationExportService } from './conversation-export.service';
import { ConversationExportDto } from './dto/conversation-export.dto';
import { ExportQueryDto } from './dto/export-query.dto';

const MARKDOWN_EXAMPLE = [
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
].join('\n');

@ApiTags('conversations')
@ApiBearerAuth()
@ApiSecurity('api-key')
@ApiErrors(401, 429, 503)
@Controller('conversations')
export class ConversationExportController {
  constructor(private readonly exports: ConversationExportService) {}

  @Get(':id/export')
  @QueryToken()
  @ApiOperation({
    summary: 'Download a conversation as JSON or Markdown',
    description:
      'Streamed as it is read from the database (any length), with Content-Disposition: ' +
      'attachment and a file name from the title. Messages list the files they carry; ' +
      'with include=files the json document also embeds their bytes (base64), streamed.',
  })
  @ApiProduces('application/json', 'text/markdown')
  @ApiExtraModels(ConversationExportDto)
  @ApiResponse({
    status: 200,
    description: 'The document',
    content: {
      // Its example is built from the schema's (a partial one would not conform to it).
      'application/json': { schema: { $ref: getSchemaPath(ConversationExportDto) } },
      'text/markdown': { schema: { type: 'string' }, example: MARKDOWN_EXAMPLE },
    },
  })
  @ApiConversationId()
  @ApiErrors(400, 404)
  async export(
    @CurrentOwner() owner: string,
    @Param('id', ConversationIdPipe) id: string,
    @Query() { format, include }: ExportQueryDto,
  ): Promise<StreamableFile> {
    const document = await this.exports.open(owner, id, { format, files: include === 'files' });
    return new StreamableFile(document.body, {
      type: document.contentType,
      disposition: `attachment; filename="${document.fileName}"`,
    });
  }
}
