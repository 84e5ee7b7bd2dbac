import { ToolDefinitionDto } from '../../llm/dto/tools.dto';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

import { PREVIEW_CHARS } from '../list-summary';

import { GenerationParamsDto } from '../../llm/dto/generation-params.dto';

export class ConversationResponseDto {
  @ApiProperty({ format: 'uuid', example: '01936f3e-8a4c-7b1e-9d2a-3c4b5d6e7f80' })
  id!: string;

  @ApiProperty({ type: String, nullable: true, example: 'Trip to Lisbon' })
  title!: string | null;

  @ApiProperty({
    type: String,
    nullable: true,
    enum: ['user', 'generated'],
    description:
      'Who wrote the title: user (POST/PATCH; never replaced) or generated (after the first reply)',
    example: 'generated',
  })
  titleSource!: 'user' | 'generated' | null;

  @ApiProperty({
    type: [String],
    description: 'Up to 5 topic tags, written with a generated title',
    example: ['travel', 'lisbon', 'itinerary'],
  })
  topics!: string[];

  @ApiProperty({ description: 'Hidden from the default list (see ?archived=)', example: false })
  archived!: boolean;

  @ApiProperty({ description: 'Listed before the others', example: false })
  pinned!: boolean;

  @ApiProperty({ type: String, nullable: true, example: 'You are a concise travel assistant.' })
  systemPrompt!: string | null;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Alias; null means DEFAULT_MODEL',
    example: 'lmstudio/default',
  })
  model!: string | null;

  @ApiProperty({ type: GenerationParamsDto })
  params!: GenerationParamsDto;

  @ApiProperty({
    type: [ToolDefinitionDto],
    description: 'The function tools every turn offers unless a send gives its own; [] for none',
  })
  tools!: ToolDefinitionDto[];

  @ApiProperty({
    type: [String],
    description:
      'MCP server tools every turn may call (`<server>/<tool>`, `<server>/*`); [] for none',
    example: [],
  })
  serverTools!: string[];

  @ApiProperty({ example: '2026-11-21T10:00:00.000Z' })
  createdAt!: string;

  @ApiProperty({ example: '2026-11-21T10:00:00.000Z' })
  updatedAt!: string;

  @ApiProperty({
    description: 'Last turn (or creation); lists are ordered by it',
    example: '2026-11-21T10:05:00.000Z',
  })
  lastMessageAt!: string;

  @ApiProperty({
    type: String,
    format: 'uuid',
    nullable: true,
    description:
      'The last message of the path the conversation shows (GET …/messages); the next turn continues from it. Null before the first turn',
    example: '01936f3e-8a4c-7b1e-9d2a-3c4b5d6e7fa4',
  })
  currentLeafId!: string | null;
}

export class SearchMatchDto {
  @ApiProperty({
    description: 'Where the query matched: the best message, else the title; matches wrapped in **',
    example: 'Plan one day in **Lisbon**: start at Belém, then the **trip** up to the castle',
  })
  snippet!: string;

  @ApiProperty({
    description: 'Relevance, higher first: title matches count twice, then the best message',
    example: 0.0608,
  })
  rank!: number;

  @ApiProperty({
    type: String,
    nullable: true,
    format: 'uuid',
    description: 'The message the snippet is from; null when only the title matched',
    example: '01936f3e-8a4c-7b1e-9d2a-3c4b5d6e7f81',
  })
  messageId!: string | null;
}

export class LastMessageDto {
  @ApiProperty({ enum: ['user', 'assistant', 'system', 'tool'], example: 'assistant' })
  role!: 'user' | 'assistant' | 'system' | 'tool';

  @ApiProperty({
    description: `Its first ${PREVIEW_CHARS} characters`,
    example: 'Day one: the Alfama in the morning, then…',
  })
  preview!: string;

  @ApiProperty({ example: '2026-11-21T10:05:00.000Z' })
  createdAt!: string;
}

export class ConversationListItemDto extends ConversationResponseDto {
  @ApiProperty({
    description:
      'Messages stored in the conversation, on every branch (a regenerate or an edit adds to it)',
    example: 4,
  })
  messageCount!: number;

  @ApiProperty({
    type: LastMessageDto,
    nullable: true,
    description:
      'The newest message with text on the current path: the current leaf, or the message before it while a reply has no text yet. Null before the first turn',
  })
  lastMessage!: LastMessageDto | null;

  @ApiPropertyOptional({ type: SearchMatchDto, description: 'Only with ?q=' })
  match?: SearchMatchDto;
}

export class ConversationPageDto {
  @ApiProperty({ type: [ConversationListItemDto] })
  data!: ConversationListItemDto[];

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Pass as ?cursor= for the next page; null on the last',
  })
  nextCursor!: string | null;
}
