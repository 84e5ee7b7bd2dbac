import {
  Controller,
  Delete,
  Get,
  Header,
  HttpCode,
  Param,
  Post,
  Query,
  Req,
  StreamableFile,
  UseFilters,
} from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiConsumes,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiResponse,
  ApiSecurity,
  ApiTags,
} from '@nestjs/swagger';
import { isUUID } from 'class-validator';
import type { Request } from 'express';

import { ApiKeyAsBearer, CurrentOwner } from '../auth/current-owner.decorator';
import {
  contentDisposition,
  FileNotFoundException,
  FileRow,
  FilesService,
  servedContentType,
  withUpload,
} from '../files';
import { OpenAiErrorDto } from './dto/chat-completion-response.dto';
import {
  OpenAiFileDeletedDto,
  OpenAiFileDto,
  OpenAiFileListDto,
  OpenAiFileListQuery,
  OpenAiUploadFileDto,
} from './dto/openai-file.dto';
import { OpenAiExceptionFilter } from './openai-error';

export function toOpenAiFile(row: FileRow): OpenAiFileDto {
  return {
    id: row.id,
    object: 'file',
    bytes: Number(row.bytes),
    created_at: Math.floor(row.createdAt.getTime() / 1000),
    filename: row.filename,
    purpose: row.purpose,
    status: row.status === 'ready' ? 'processed' : row.status === 'failed' ? 'error' : 'uploaded',
    status_details: row.errorMessage,
  };
}

/** OpenAI's ids are not UUIDs; anything else is a file nobody has (404, as OpenAI answers). */
function fileId(id: string): string {
  if (!isUUID(id, 'all')) throw new FileNotFoundException(id);
  return id;
}

const ApiFileErrors = (): MethodDecorator =>
  ApiResponse({
    status: 404,
    description: 'No such file of yours (`file_not_found`)',
    type: OpenAiErrorDto,
  });

/**
 * OpenAI's Files API (/v1/files) over the same files as /api/v1/files: an id works on both
 * doors. Errors in OpenAI's shape.
 */
@ApiTags('openai')
@ApiBearerAuth()
@ApiSecurity('api-key')
@ApiKeyAsBearer()
@UseFilters(OpenAiExceptionFilter)
@ApiResponse({ status: 401, description: 'No or bad credentials', type: OpenAiErrorDto })
@Controller('v1/files')
export class OpenAiFilesController {
  constructor(private readonly files: FilesService) {}

  @Post()
  @HttpCode(200)
  @ApiOperation({
    summary: 'Upload a file (OpenAI Files API)',
    description:
      'multipart/form-data: `file`, and `purpose` (default user_data). The same checks as POST /api/v1/files: sniffed type, FILE_MAX_BYTES, quota.',
  })
  @ApiConsumes('multipart/form-data')
  @ApiBody({ type: OpenAiUploadFileDto })
  @ApiOkResponse({ type: OpenAiFileDto })
  @ApiResponse({
    status: 413,
    description: '`file_too_large`, `file_quota_exceeded`',
    type: OpenAiErrorDto,
  })
  @ApiResponse({ status: 415, description: '`file_type_not_allowed`', type: OpenAiErrorDto })
  async upload(@CurrentOwner() owner: string, @Req() req: Request): Promise<OpenAiFileDto> {
    const file = await withUpload(req, this.files.maxBytes, (upload) =>
      this.files.upload(owner, upload),
    );
    return toOpenAiFile(file);
  }

  @Get()
  @ApiOperation({ summary: 'List your files, newest first (OpenAI Files API)' })
  @ApiOkResponse({ type: OpenAiFileListDto })
  async list(
    @CurrentOwner() owner: string,
    @Query() query: OpenAiFileListQuery,
  ): Promise<OpenAiFileListDto> {
    const after = query.after && isUUID(query.after, 'all') ? query.after : undefined;
    const rows = await this.files.list(owner, query.limit + 1, after);
    const data = rows.slice(0, query.limit).map(toOpenAiFile);
    return {
      object: 'list',
      data,
      first_id: data[0]?.id ?? null,
      last_id: data.at(-1)?.id ?? null,
      has_more: rows.length > query.limit,
    };
  }

  @Get(':id')
  @ApiOperation({ summary: 'One file (OpenAI Files API)' })
  @ApiOkResponse({ type: OpenAiFileDto })
  @ApiFileErrors()
  async get(@CurrentOwner() owner: string, @Param('id') id: string): Promise<OpenAiFileDto> {
    return toOpenAiFile(await this.files.get(owner, fileId(id)));
  }

  @Get(':id/content')
  @Header('X-Content-Type-Options', 'nosniff')
  @Header('Content-Security-Policy', "default-src 'none'; sandbox")
  @Header('Cache-Control', 'private, no-cache')
  @ApiOperation({ summary: "A file's bytes, streamed (OpenAI Files API)" })
  @ApiProduces('application/octet-stream')
  @ApiOkResponse({ description: 'The bytes', schema: { type: 'string', format: 'binary' } })
  @ApiFileErrors()
  async content(@CurrentOwner() owner: string, @Param('id') id: string): Promise<StreamableFile> {
    const { file, content } = await this.files.open(owner, fileId(id));
    return new StreamableFile(content, {
      type: servedContentType(file.mimeType),
      length: Number(file.bytes),
      disposition: contentDisposition(file.mimeType, file.filename),
    });
  }

  @Delete(':id')
  @ApiOperation({ summary: 'Delete a file (OpenAI Files API)' })
  @ApiOkResponse({ type: OpenAiFileDeletedDto })
  @ApiFileErrors()
  async delete(
    @CurrentOwner() owner: string,
    @Param('id') id: string,
  ): Promise<OpenAiFileDeletedDto> {
    await this.files.delete(owner, fileId(id));
    return { id, object: 'file', deleted: true };
  }
}
