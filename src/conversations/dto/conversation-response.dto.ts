import { ApiProperty } from '@nestjs/swagger';

import { GenerationParamsDto } from '../../llm/dto/generation-params.dto';

export class ConversationResponseDto {
  @ApiProperty({ format: 'uuid', example: '01936f3e-8a4c-7b1e-9d2a-3c4b5d6e7f80' })
  id!: string;

  @ApiProperty({ type: String, nullable: true, example: 'Trip to Lisbon' })
  title!: string | null;

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

export class ConversationPageDto {
  @ApiProperty({ type: [ConversationResponseDto] })
  data!: ConversationResponseDto[];

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Pass as ?cursor= for the next page; null on the last',
  })
  nextCursor!: string | null;
}
