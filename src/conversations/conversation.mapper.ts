import type { Conversation } from '../generated/prisma/client';
import { ConversationResponseDto } from './dto/conversation-response.dto';
import { GenerationParamsDto } from '../llm/dto/generation-params.dto';

export function toParams(
  row: Pick<Conversation, 'temperature' | 'topP' | 'maxTokens' | 'seed'>,
): GenerationParamsDto {
  const params: GenerationParamsDto = {};
  if (row.temperature !== null) params.temperature = row.temperature;
  if (row.topP !== null) params.topP = row.topP;
  if (row.maxTokens !== null) params.maxTokens = row.maxTokens;
  if (row.seed !== null) params.seed = row.seed;
  return params;
}

export function toConversationResponse(row: Conversation): ConversationResponseDto {
  return {
    id: row.id,
    title: row.title,
    systemPrompt: row.systemPrompt,
    model: row.model,
    params: toParams(row),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    lastMessageAt: row.lastMessageAt.toISOString(),
    currentLeafId: row.currentLeafId,
  };
}
