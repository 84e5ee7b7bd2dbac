import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

import { ERROR_CODES, ErrorCode } from './error-codes';

/** The catalogue's codes, for schemas: a generated client gets them as a union type. */
export const ERROR_CODE_SCHEMA = { enum: Object.keys(ERROR_CODES), enumName: 'ErrorCode' };

export class FieldErrorDto {
  @ApiProperty({ example: 'title' })
  field!: string;

  @ApiProperty({ example: ['title must be shorter than or equal to 200 characters'] })
  errors!: string[];
}

/** The one error body every endpoint answers with. */
export class ErrorResponseDto {
  @ApiProperty({ example: 404 })
  statusCode!: number;

  @ApiProperty({
    ...ERROR_CODE_SCHEMA,
    description: 'Stable snake_case code to branch on',
    example: 'conversation_not_found',
  })
  error!: ErrorCode;

  @ApiProperty({
    description: 'What happened and what to do',
    example: 'Conversation 0193… does not exist',
  })
  message!: string;

  @ApiProperty({
    description: 'Quote it when reporting a problem; also in X-Correlation-ID',
    example: '7d5c…',
  })
  correlationId!: string;

  @ApiPropertyOptional({ type: [FieldErrorDto], description: 'Present on validation_failed' })
  details?: FieldErrorDto[];

  @ApiPropertyOptional({
    description:
      'A failed turn: its stored user message (a retry with the same Idempotency-Key answers it again, it does not store another)',
    example: '0193…',
  })
  userMessageId?: string;

  @ApiPropertyOptional({
    description: "A failed turn: its reply's id (stored as failed, with any partial text)",
    example: '0193…',
  })
  assistantMessageId?: string;
}
