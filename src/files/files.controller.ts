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
} from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiConsumes,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiProduces,
  ApiSecurity,
  ApiTags,
} from '@nestjs/swagger';
import type { Request } from 'express';

import { CurrentOwner, QueryToken } from '../auth/current-owner.decorator';
import { AccessTokenQueryDto } from '../auth/dto/access-token-query.dto';
import { ApiErrors } from '../common/http/api-errors.decorator';
import { decodeFilesCursor, encodeCursor } from '../common/pagination/cursor';
import { ConversationIdPipe } from '../history/conversation-id.pipe';
import { contentDisposition } from './content-disposition';
import { servedContentType } from './content-type';
import { FilePageDto, FileResponseDto, UploadFileDto } from './dto/file-response.dto';
import { ListFilesQueryDto } from './dto/list-files.query';
import { toFileResponse } from './file.mapper';
import { FilesService } from './files.service';
import { withUpload } from './multipart';

const ApiFileId = (): MethodDecorator =>
  ApiParam({
    name: 'id',
    type: String,
    format: 'uuid',
    example: '01936f3e-8a4c-7b1e-9d2a-3c4b5d6e7f80',
  });

const UPLOAD_DESCRIPTION =
  'multipart/form-data with the file in a part named `file`. The type is sniffed from the ' +
  'bytes (FILE_ALLOWED_TYPES; 415 `file_type_not_allowed`), never taken from the name or the ' +
  'part header; at most FILE_MAX_BYTES (413 `file_too_large`) and within the owner quota ' +
  'FILE_QUOTA_BYTES (413 `file_quota_exceeded`). The same bytes uploaded again make a new ' +
  "file sharing the stored content. A document's text is extracted in the background: " +
  'status `processing`, then `ready` or `failed`.';

@ApiTags('files')
@ApiBearerAuth()
@ApiSecurity('api-key')
@ApiErrors(401, 429, 503)
@Controller('files')
export class FilesController {
  constructor(private readonly files: FilesService) {}

  @Post()
  @ApiOperation({ summary: 'Upload a file (image or document)', description: UPLOAD_DESCRIPTION })
  @ApiConsumes('multipart/form-data')
  @ApiBody({ type: UploadFileDto })
  @ApiCreatedResponse({ type: FileResponseDto })
  @ApiErrors(400, 413, 415)
  async upload(@CurrentOwner() owner: string, @Req() req: Request): Promise<FileResponseDto> {
    const file = await withUpload(req, this.files.maxBytes, (upload) =>
      this.files.upload(owner, upload),
    );
    return toFileResponse(file);
  }

  @Get()
  @ApiOperation({ summary: 'List your files, newest first' })
  @ApiOkResponse({ type: FilePageDto })
  @ApiErrors(400)
  async list(
    @CurrentOwner() owner: string,
    @Query() query: ListFilesQueryDto,
  ): Promise<FilePageDto> {
    const before = query.cursor ? decodeFilesCursor(query.cursor).id : undefined;
    const rows = await this.files.list(owner, query.limit + 1, before);
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    return {
      data: page.map(toFileResponse),
      nextCursor:
        rows.length > query.limit && last ? encodeCursor({ kind: 'files', id: last.id }) : null,
    };
  }

  @Get(':id')
  @ApiOperation({ summary: 'One file: type, size, hash, extraction status' })
  @ApiFileId()
  @ApiOkResponse({ type: FileResponseDto })
  @ApiErrors(400, 404)
  async get(
    @CurrentOwner() owner: string,
    @Param('id', ConversationIdPipe) id: string,
  ): Promise<FileResponseDto> {
    return toFileResponse(await this.files.get(owner, id));
  }

  @Get(':id/content')
  @QueryToken()
  @Header('X-Content-Type-Options', 'nosniff')
  @Header('Content-Security-Policy', "default-src 'none'; sandbox")
  @Header('Cache-Control', 'private, no-cache')
  @ApiOperation({
    summary: 'The bytes, streamed, with their sniffed Content-Type',
    description:
      'Inline for raster images and plain text, Markdown and CSV; `Content-Disposition: attachment` ' +
      'for everything a browser could run or script (HTML, SVG, XML, PDF, DOCX, JSON). Always ' +
      '`X-Content-Type-Options: nosniff` and a sandboxing Content-Security-Policy. A browser ' +
      'link may carry the token as ?access_token=.',
  })
  @ApiFileId()
  @ApiProduces('application/octet-stream')
  @ApiOkResponse({ description: 'The bytes', schema: { type: 'string', format: 'binary' } })
  @ApiErrors(400, 404)
  async content(
    @CurrentOwner() owner: string,
    @Param('id', ConversationIdPipe) id: string,
    @Query() _query: AccessTokenQueryDto,
  ): Promise<StreamableFile> {
    const { file, content } = await this.files.open(owner, id);
    return new StreamableFile(content, {
      type: servedContentType(file.mimeType),
      length: Number(file.bytes),
      disposition: contentDisposition(file.mimeType, file.filename),
    });
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({
    summary: 'Delete a file (its stored content goes with its last file)',
  })
  @ApiFileId()
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiErrors(400, 404)
  async delete(
    @CurrentOwner() owner: string,
    @Param('id', ConversationIdPipe) id: string,
  ): Promise<void> {
    await this.files.delete(owner, id);
  }
}
