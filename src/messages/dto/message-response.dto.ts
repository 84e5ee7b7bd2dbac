import { ApiProperty } from '@nestjs/swagger';

import { ContextBriefDto } from '../../memory/dto/context.dto';

export class UsageDto {
  @ApiProperty({ type: Number, nullable: true, example: 152 })
  promptTokens!: number | null;

  @ApiProperty({ type: Number, nullable: true, example: 48 })
  completionTokens!: number | null;

  @ApiProperty({ type: Number, nullable: true, example: 200 })
  totalTokens!: number | null;

  @ApiProperty({
    description: 'True when counted locally because the provider reported no usage',
    example: false,
  })
  estimated!: boolean;
}

export class MessageErrorDto {
  @ApiProperty({ example: 'provider_timeout' })
  code!: string;

  @ApiProperty({
    type: String,
    nullable: true,
    example: 'LM Studio did not answer within 60000 ms',
  })
  message!: string | null;
}

export class MessageResponseDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ format: 'uuid' })
  conversationId!: string;

  @ApiProperty({ description: 'Position in the conversation; strictly increasing', example: 0 })
  seq!: number;

  @ApiProperty({ enum: ['system', 'user', 'assistant'], example: 'user' })
  role!: 'system' | 'user' | 'assistant';

  @ApiProperty({ example: 'What should I see in Lisbon?' })
  content!: string;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Reasoning the model emitted in <think> tags',
  })
  reasoning!: string | null;

  @ApiProperty({ enum: ['complete', 'streaming', 'failed', 'cancelled'], example: 'complete' })
  status!: 'complete' | 'streaming' | 'failed' | 'cancelled';

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Alias that produced it',
    example: 'lmstudio/default',
  })
  model!: string | null;

  @ApiProperty({ type: String, nullable: true, example: 'qwen2.5-7b-instruct' })
  upstreamModel!: string | null;

  @ApiProperty({ type: UsageDto, nullable: true })
  usage!: UsageDto | null;

  @ApiProperty({ type: Number, nullable: true, example: 812 })
  latencyMs!: number | null;

  @ApiProperty({ type: Number, nullable: true, description: 'Time to first token', example: 95 })
  ttftMs!: number | null;

  @ApiProperty({ type: String, nullable: true, example: 'stop' })
  finishReason!: string | null;

  @ApiProperty({ type: MessageErrorDto, nullable: true })
  error!: MessageErrorDto | null;

  @ApiProperty({
    type: ContextBriefDto,
    nullable: true,
    description:
      'Assistant messages: what the prompt held, in short (GET …/messages/:messageId/context for all of it)',
  })
  context!: ContextBriefDto | null;

  @ApiProperty({ example: '2026-11-21T10:00:00.000Z' })
  createdAt!: string;

  @ApiProperty({ type: String, nullable: true, example: '2026-11-21T10:00:01.000Z' })
  completedAt!: string | null;
}

export class MessagePageDto {
  @ApiProperty({ type: [MessageResponseDto] })
  data!: MessageResponseDto[];

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Pass as ?cursor= for the next page; null on the last',
  })
  nextCursor!: string | null;
}
