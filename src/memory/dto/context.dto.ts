import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class SystemPromptPartDto {
  @ApiProperty({ enum: ['default', 'conversation'], example: 'conversation' })
  source!: 'default' | 'conversation';

  @ApiProperty({ example: 12 })
  tokens!: number;
}

export class SummaryPartDto {
  @ApiProperty({ format: 'uuid', description: 'The last message the summary covers' })
  throughMessageId!: string;

  @ApiProperty({ example: 7 })
  throughSeq!: number;

  @ApiProperty({ description: 'Messages folded into it since the start or last reset', example: 8 })
  summarizedMessages!: number;

  @ApiProperty({ description: 'Cost of the summary message, label included', example: 61 })
  tokens!: number;
}

export class HistoryPartDto {
  @ApiProperty({ example: 4 })
  messages!: number;

  @ApiProperty({ type: String, format: 'uuid', nullable: true })
  firstMessageId!: string | null;

  @ApiProperty({ type: String, format: 'uuid', nullable: true })
  lastMessageId!: string | null;

  @ApiProperty({ description: 'Messages after the summary that did not fit', example: 2 })
  omitted!: number;

  @ApiProperty({ example: 188 })
  tokens!: number;
}

export class UserMessagePartDto {
  @ApiProperty({ format: 'uuid' })
  messageId!: string;

  @ApiProperty({ example: 14 })
  tokens!: number;
}

export class TriedAliasDto {
  @ApiProperty({ example: 'groq/llama-3.3-70b' })
  alias!: string;

  @ApiProperty({ description: 'Why it was given up', example: 'provider_unavailable' })
  errorCode!: string;
}

export class SummaryPlanDto {
  @ApiProperty({
    type: String,
    nullable: true,
    description:
      'The alias that writes summaries: SUMMARY_MODEL or the conversation’s, else (window too small) the configured alias with the largest window; null: none can',
    example: 'lmstudio/default',
  })
  summaryModel!: string | null;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Why summaries use another alias, or why none are written',
    example: null,
  })
  note!: string | null;
}

export class ContextManifestDto {
  @ApiProperty({ description: 'The alias that answered', example: 'lmstudio/default' })
  model!: string;

  @ApiProperty({ example: 8192 })
  contextWindow!: number;

  @ApiProperty({ description: 'Tokens reserved for the reply (max_tokens)', example: 1024 })
  replyTokens!: number;

  @ApiProperty({ description: 'contextWindow − replyTokens', example: 7168 })
  promptBudget!: number;

  @ApiProperty({
    description: 'system + summary + history + userMessage + 3 priming tokens',
    example: 278,
  })
  promptTokens!: number;

  @ApiProperty({ type: SystemPromptPartDto })
  systemPrompt!: SystemPromptPartDto;

  @ApiProperty({ type: SummaryPartDto, nullable: true })
  summary!: SummaryPartDto | null;

  @ApiProperty({
    type: String,
    format: 'uuid',
    nullable: true,
    description: 'The context was reset after this message: nothing up to it was sent',
  })
  resetAfterMessageId!: string | null;

  @ApiProperty({ type: HistoryPartDto })
  history!: HistoryPartDto;

  @ApiProperty({ type: UserMessagePartDto })
  userMessage!: UserMessagePartDto;

  @ApiProperty({
    type: [TriedAliasDto],
    required: false,
    description:
      'Aliases given up before the one that answered (its fallbacks), in order; absent when ' +
      'the alias asked for answered',
  })
  tried?: TriedAliasDto[];

  @ApiPropertyOptional({
    description:
      'true: the reply came from the response cache (RESPONSE_CACHE_TTL_S), the same alias ' +
      'having answered the same deterministic prompt; no provider was called. Absent otherwise',
    example: true,
  })
  cached?: boolean;

  @ApiPropertyOptional({
    type: SummaryPlanDto,
    description: 'Who writes the summaries (absent in manifests stored before it existed)',
  })
  memory?: SummaryPlanDto;
}

export class PromptMessageDto {
  @ApiProperty({ type: String, format: 'uuid', nullable: true, description: 'null: not stored' })
  id!: string | null;

  @ApiProperty({ enum: ['system', 'user', 'assistant', 'tool'], example: 'user' })
  role!: 'system' | 'user' | 'assistant' | 'tool';

  @ApiProperty({ example: 'My name is Ada.' })
  content!: string;

  @ApiProperty({ description: 'Cost in the prompt, per-message overhead included', example: 9 })
  tokens!: number;
}

export class ConversationContextDto {
  @ApiProperty({ example: 'lmstudio/default' })
  model!: string;

  @ApiProperty({ example: 8192 })
  contextWindow!: number;

  @ApiProperty({ example: 1024 })
  replyTokens!: number;

  @ApiProperty({ example: 7168 })
  promptBudget!: number;

  @ApiProperty({
    type: [PromptMessageDto],
    description:
      'The prompt in order: system prompt, summary (a labelled system message) and the history the next turn sends before its message',
  })
  messages!: PromptMessageDto[];

  @ApiProperty({ type: SystemPromptPartDto })
  systemPrompt!: SystemPromptPartDto;

  @ApiProperty({ type: SummaryPartDto, nullable: true })
  summary!: SummaryPartDto | null;

  @ApiProperty({ type: String, format: 'uuid', nullable: true })
  resetAfterMessageId!: string | null;

  @ApiProperty({ description: 'Messages after the summary that no longer fit', example: 0 })
  omitted!: number;

  @ApiProperty({ description: 'What these messages cost, priming included', example: 240 })
  promptTokens!: number;

  @ApiProperty({
    description: 'Tokens left for the next message; a longer one pushes the oldest history out',
    example: 6928,
  })
  availableForMessage!: number;

  @ApiProperty({ type: SummaryPlanDto, description: 'Who writes the summaries, or why none' })
  memory!: SummaryPlanDto;
}
