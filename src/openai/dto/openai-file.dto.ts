import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';

/** A file as OpenAI's Files API describes it. */
export class OpenAiFileDto {
  @ApiProperty({ example: '01936f3e-8a4c-7b1e-9d2a-3c4b5d6e7f80' })
  id!: string;

  @ApiProperty({ enum: ['file'], example: 'file' })
  object!: 'file';

  @ApiProperty({ example: 48213 })
  bytes!: number;

  @ApiProperty({ description: 'Unix seconds', example: 1700000000 })
  created_at!: number;

  @ApiProperty({ example: 'report.pdf' })
  filename!: string;

  @ApiProperty({ example: 'user_data' })
  purpose!: string;

  @ApiProperty({
    enum: ['uploaded', 'processed', 'error'],
    description:
      "uploaded: a document's text is being extracted; processed; error (status_details)",
    example: 'processed',
  })
  status!: 'uploaded' | 'processed' | 'error';

  @ApiProperty({ type: String, nullable: true, example: null })
  status_details!: string | null;
}

export class OpenAiFileListDto {
  @ApiProperty({ enum: ['list'] })
  object!: 'list';

  @ApiProperty({ type: [OpenAiFileDto] })
  data!: OpenAiFileDto[];

  @ApiProperty({ type: String, nullable: true })
  first_id!: string | null;

  @ApiProperty({ type: String, nullable: true })
  last_id!: string | null;

  @ApiProperty()
  has_more!: boolean;
}

export class OpenAiFileDeletedDto {
  @ApiProperty()
  id!: string;

  @ApiProperty({ enum: ['file'] })
  object!: 'file';

  @ApiProperty({ enum: [true] })
  deleted!: true;
}

/** GET /v1/files: newest first, `after` the last id of the previous page. */
export class OpenAiFileListQuery {
  @ApiPropertyOptional({ description: 'Page size, 1 to 100', default: 100 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit: number = 100;

  @ApiPropertyOptional({ description: 'The last id of the previous page' })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  after?: string;

  @ApiPropertyOptional({ enum: ['desc'], description: 'Newest first (the only order)' })
  @IsOptional()
  @IsIn(['desc'])
  order?: 'desc';
}

/** The multipart body of POST /v1/files, for Swagger UI. */
export class OpenAiUploadFileDto {
  @ApiProperty({ type: 'string', format: 'binary' })
  file!: unknown;

  @ApiPropertyOptional({
    enum: ['assistants', 'batch', 'fine-tune', 'vision', 'user_data', 'evals'],
    default: 'user_data',
  })
  purpose?: string;
}
