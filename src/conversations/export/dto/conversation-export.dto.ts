import { ApiProperty, ApiPropertyOptional, OmitType } from '@nestjs/swagger';

import { MessageResponseDto } from '../../../messages';
import { ConversationResponseDto } from '../../dto/conversation-response.dto';

/** An attached file embedded in the json export (include=files). */
export class ExportedFileDto {
  @ApiProperty({ format: 'uuid', example: '01936f3e-8a4c-7b1e-9d2a-3c4b5d6e7f80' })
  id!: string;

  @ApiProperty({ example: 'chart.png' })
  filename!: string;

  @ApiProperty({ description: 'Sniffed from the bytes', example: 'image/png' })
  mimeType!: string;

  @ApiProperty({ example: 48213 })
  bytes!: number;

  @ApiProperty({
    description: 'SHA-256 of the bytes, hex: check the decoded data against it',
    example: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
  })
  sha256!: string;

  @ApiProperty({ enum: ['image', 'document'], example: 'image' })
  kind!: 'image' | 'document';

  @ApiProperty({ description: 'The bytes, base64', example: 'iVBORw0KGgo=' })
  data!: string;
}

/** The json export (export-format's jsonWriter writes it piece by piece). */
export class ConversationExportDto {
  @ApiProperty({ type: ConversationResponseDto })
  conversation!: ConversationResponseDto;

  @ApiProperty({
    type: [MessageResponseDto],
    description: 'Every message of every branch, in conversation order (parentId links them)',
  })
  messages!: MessageResponseDto[];

  @ApiPropertyOptional({
    type: [ExportedFileDto],
    description:
      'With include=files only: every file the messages carry, once each, with its bytes',
  })
  files?: ExportedFileDto[];
}

/** One conversation in the account export: what its own json export holds, without files. */
export class AccountExportEntryDto extends OmitType(ConversationExportDto, ['files'] as const) {}

/** The account-wide json export (AccountExportService writes it piece by piece). */
export class AccountExportDto {
  @ApiProperty({
    description: 'When the export started',
    example: '2026-12-07T19:00:00.000Z',
    format: 'date-time',
  })
  exportedAt!: string;

  @ApiProperty({
    type: [AccountExportEntryDto],
    description:
      'Every conversation of the account, archived ones too, oldest first, each as GET /api/v1/conversations/{id}/export gives it (every branch)',
  })
  conversations!: AccountExportEntryDto[];

  @ApiPropertyOptional({
    type: [ExportedFileDto],
    description:
      'With include=files only: every file any message carries, once for the whole account, with its bytes',
  })
  files?: ExportedFileDto[];
}
