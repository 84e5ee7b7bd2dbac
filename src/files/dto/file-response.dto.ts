import { ApiProperty } from '@nestjs/swagger';

export class FileErrorDto {
  @ApiProperty({
    description:
      'Why the text could not be extracted: extract_timeout, extract_out_of_memory, extract_encrypted, extract_too_much_text, extract_unreadable, extract_interrupted, extract_failed',
    example: 'extract_encrypted',
  })
  code!: string;

  @ApiProperty({ example: 'The PDF is password-protected' })
  message!: string;
}

export class FileResponseDto {
  @ApiProperty({ format: 'uuid', example: '01936f3e-8a4c-7b1e-9d2a-3c4b5d6e7f80' })
  id!: string;

  @ApiProperty({ description: 'As uploaded, without any path', example: 'report.pdf' })
  filename!: string;

  @ApiProperty({
    description: 'Sniffed from the bytes, never taken from the name or the upload header',
    example: 'application/pdf',
  })
  mimeType!: string;

  @ApiProperty({ example: 48213 })
  bytes!: number;

  @ApiProperty({
    description: 'Hex SHA-256 of the bytes',
    example: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  })
  sha256!: string;

  @ApiProperty({
    enum: ['image', 'document'],
    description: 'image: PNG, JPEG, GIF or WebP, for vision models; document: text is extracted',
    example: 'document',
  })
  kind!: 'image' | 'document';

  @ApiProperty({
    enum: ['processing', 'ready', 'failed'],
    description: "processing: a document's text is being extracted; ready; failed (see error)",
    example: 'ready',
  })
  status!: 'processing' | 'ready' | 'failed';

  @ApiProperty({ type: FileErrorDto, nullable: true })
  error!: FileErrorDto | null;

  @ApiProperty({
    type: Number,
    nullable: true,
    description:
      'Documents: tokens of the extracted text (counted conservatively); null until ready',
    example: 1520,
  })
  textTokens!: number | null;

  @ApiProperty({
    type: Number,
    nullable: true,
    description: 'Images: width in pixels',
    example: 1024,
  })
  width!: number | null;

  @ApiProperty({
    type: Number,
    nullable: true,
    description: 'Images: height in pixels',
    example: 768,
  })
  height!: number | null;

  @ApiProperty({
    type: Number,
    nullable: true,
    description: "Images: what the image costs a vision model by OpenAI's tile rule (high detail)",
    example: 765,
  })
  imageTokens!: number | null;

  @ApiProperty({ example: '2026-11-21T10:00:00.000Z' })
  createdAt!: string;
}

export class FilePageDto {
  @ApiProperty({ type: [FileResponseDto] })
  data!: FileResponseDto[];

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Pass as ?cursor= for the next (older) page; null on the last page',
  })
  nextCursor!: string | null;
}

/** The multipart body of an upload, for Swagger UI's "Try it out" (a file picker). */
export class UploadFileDto {
  @ApiProperty({ type: 'string', format: 'binary', description: 'The file (one per request)' })
  file!: unknown;
}
