import type { FileResponseDto } from './dto/file-response.dto';
import type { FileRow } from './files.repository';
import { imageTokens } from './image-tokens';

export function toFileResponse(row: FileRow): FileResponseDto {
  const image = row.kind === 'image';
  return {
    id: row.id,
    filename: row.filename,
    mimeType: row.mimeType,
    bytes: Number(row.bytes),
    sha256: row.sha256 ?? '',
    kind: image ? 'image' : 'document',
    status: row.status as FileResponseDto['status'],
    error: row.errorCode ? { code: row.errorCode, message: row.errorMessage ?? '' } : null,
    textTokens: row.textTokens,
    width: row.width,
    height: row.height,
    imageTokens: image && row.width && row.height ? imageTokens(row.width, row.height) : null,
    createdAt: row.createdAt.toISOString(),
  };
}
