import { ToolCallDto } from '../../llm/dto/tools.dto';
import { ApiProperty } from '@nestjs/swagger';

import { ContextBriefDto } from '../../history/dto/context-brief.dto';

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

export class MessageAttachmentDto {
  @ApiProperty({ format: 'uuid', example: '01936f3e-8a4c-7b1e-9d2a-3c4b5d6e7f80' })
  id!: string;

  @ApiProperty({ example: 'chart.png' })
  filename!: string;

  @ApiProperty({ description: 'Sniffed from the bytes', example: 'image/png' })
  mimeType!: string;

  @ApiProperty({ example: 48213 })
  bytes!: number;

  @ApiProperty({
    enum: ['image', 'document'],
    description: 'image: shown to vision models; document: its text goes into the prompt',
    example: 'image',
  })
  kind!: 'image' | 'document';
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

export class FeedbackDto {
  @ApiProperty({ enum: ['up', 'down'], example: 'up' })
  rating!: 'up' | 'down';

  @ApiProperty({ type: String, nullable: true, example: 'Clear and to the point.' })
  comment!: string | null;

  @ApiProperty({ example: '2026-11-21T10:06:00.000Z' })
  updatedAt!: string;
}

export class MessageResponseDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ format: 'uuid' })
  conversationId!: string;

  @ApiProperty({
    type: String,
    format: 'uuid',
    nullable: true,
    description:
      'The message this one follows in the conversation tree; null for a first message. Its siblings share it',
    example: '01936f3e-8a4c-7b1e-9d2a-3c4b5d6e7f81',
  })
  parentId!: string | null;

  @ApiProperty({ description: 'Position in the conversation; strictly increasing', example: 0 })
  seq!: number;

  @ApiProperty({
    enum: ['system', 'user', 'assistant', 'tool'],
    example: 'user',
    description: '`tool`: the result of a tool call (`toolCallId`)',
  })
  role!: 'system' | 'user' | 'assistant' | 'tool';

  @ApiProperty({ example: 'What should I see in Lisbon?' })
  content!: string;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Who spoke (a user message sent with `name`); null when unnamed',
    example: 'alice',
  })
  name!: string | null;

  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'string' },
    nullable: true,
    description: 'The metadata sent with a user message; null when none',
    example: { emote: 'smiles' },
  })
  metadata!: Record<string, string> | null;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Reasoning the model emitted in <think> tags',
  })
  reasoning!: string | null;

  @ApiProperty({
    enum: ['complete', 'streaming', 'failed', 'cancelled', 'requires_action'],
    example: 'complete',
    description:
      "`requires_action`: the reply called the client's tools (`toolCalls`) and waits for their results (POST …/tool-results)",
  })
  status!: 'complete' | 'streaming' | 'failed' | 'cancelled' | 'requires_action';

  @ApiProperty({
    type: [ToolCallDto],
    nullable: true,
    description: 'The tools this reply called, in order; null when it called none',
  })
  toolCalls!: ToolCallDto[] | null;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'A tool message: the id of the call it is the result of',
    example: 'call_0_get_weather',
  })
  toolCallId!: string | null;

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

  @ApiProperty({
    type: FeedbackDto,
    nullable: true,
    description: "The owner's rating of an assistant reply (PUT …/feedback); null when unrated",
  })
  feedback!: FeedbackDto | null;

  @ApiProperty({
    type: [MessageAttachmentDto],
    description:
      'The files a user message carries (sent as `attachments`), in order; empty for other messages. Their bytes: GET /api/v1/files/{id}/content',
  })
  attachments!: MessageAttachmentDto[];
}

/** A message on the path being read, with what a frontend needs for "< 2/3 >". */
export class PathMessageResponseDto extends MessageResponseDto {
  @ApiProperty({
    description:
      'Messages sharing its parent (alternative replies, or edited versions), itself included',
    example: 3,
  })
  siblingCount!: number;

  @ApiProperty({ description: 'Its place among them, oldest first, from 1', example: 2 })
  siblingIndex!: number;

  @ApiProperty({
    type: [String],
    description:
      'The siblings, oldest first (itself included): PATCH the conversation with one as currentLeafId to switch to its branch',
    example: [
      '01936f3e-8a4c-7b1e-9d2a-3c4b5d6e7f82',
      '01936f3e-8a4c-7b1e-9d2a-3c4b5d6e7f90',
      '01936f3e-8a4c-7b1e-9d2a-3c4b5d6e7fa4',
    ],
  })
  siblingIds!: string[];
}

export class MessagePageDto {
  @ApiProperty({ type: [PathMessageResponseDto] })
  data!: PathMessageResponseDto[];

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Pass as ?cursor= for the next page; null on the last',
  })
  nextCursor!: string | null;

  @ApiProperty({
    type: String,
    format: 'uuid',
    nullable: true,
    description:
      'The last message of the path read: the current leaf, or ?leafId=; null for an empty conversation',
    example: '01936f3e-8a4c-7b1e-9d2a-3c4b5d6e7fa4',
  })
  leafId!: string | null;
}
