import { ApiProperty } from '@nestjs/swagger';

import { ContextBriefDto } from '../../history/dto/context-brief.dto';
import { MessageResponseDto, UsageDto } from '../../messages';

export class TurnResponseDto {
  @ApiProperty({
    description: 'The assistant reply (reasoning excluded)',
    example: 'Start at Belém, then…',
  })
  response!: string;

  @ApiProperty({ description: 'Alias that answered', example: 'lmstudio/default' })
  model!: string;

  @ApiProperty({ type: MessageResponseDto })
  userMessage!: MessageResponseDto;

  @ApiProperty({ type: MessageResponseDto })
  assistantMessage!: MessageResponseDto;

  @ApiProperty({ type: UsageDto, nullable: true })
  usage!: UsageDto | null;

  @ApiProperty({ description: 'Time from the provider call to the stored reply', example: 812 })
  latencyMs!: number;

  @ApiProperty({
    type: ContextBriefDto,
    nullable: true,
    description: 'What the prompt held, in short; all of it at GET …/messages/:messageId/context',
  })
  context!: ContextBriefDto | null;
}

export class GenerationStatusDto {
  @ApiProperty({ format: 'uuid', description: 'The assistant message being generated' })
  assistantMessageId!: string;

  @ApiProperty({ enum: ['streaming'], example: 'streaming' })
  status!: 'streaming';

  @ApiProperty({ example: 'lmstudio/default' })
  model!: string;

  @ApiProperty({ description: 'Answer text generated so far', example: 'Start at Belém' })
  text!: string;

  @ApiProperty({ example: '2026-11-21T10:00:00.000Z' })
  startedAt!: string;
}

export class CancelResponseDto {
  @ApiProperty({
    type: MessageResponseDto,
    nullable: true,
    description: 'The stored partial reply, status cancelled',
  })
  assistantMessage!: MessageResponseDto | null;
}

export const IDEMPOTENCY_KEY_DESCRIPTION =
  'Optional. A retry with the same key and body returns the original turn (no second message, no second provider call); ' +
  'the same key with another body is 422 idempotency_key_reused.';
