import type { Conversation as ConversationColumns } from '../generated/prisma/client';
import type { ToolDefinition } from '../llm/llm.types';
import { toToolDefinitionDtos } from '../llm/dto/tools.dto';
import type { ConversationListItem } from './conversations.service';
import { CONVERSATION_EVENT_FIELDS, ConversationEventDataDto } from './dto/conversation-event.dto';
import {
  ConversationListItemDto,
  ConversationResponseDto,
  LastMessageDto,
} from './dto/conversation-response.dto';
import { GenerationParamsDto } from '../llm/dto/generation-params.dto';
import type { ListSummary } from './list-summary';

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

/** The columns a response shows, whichever query read them. */
/** A stored conversation, its JSON columns typed. */
export type Conversation = Omit<ConversationColumns, 'tools'> & { tools: ToolDefinition[] | null };

export type ConversationRow = Omit<Conversation, 'titleSource'> & { titleSource: string | null };

/** A row of a list: the conversation and its ListSummary. */
export type ListedConversation = ConversationRow & ListSummary;

export function toConversationResponse(row: ConversationRow): ConversationResponseDto {
  return {
    ...toConversationEvent(row),
    systemPrompt: row.systemPrompt,
    params: toParams(row),
    tools: toToolDefinitionDtos(row.tools ?? []),
    serverTools: row.serverTools,
    createdAt: row.createdAt.toISOString(),
    currentLeafId: row.currentLeafId,
  };
}

/** The columns an owner event shows. */
export type ConversationEventRow = Pick<
  ConversationRow,
  (typeof CONVERSATION_EVENT_FIELDS)[number]
>;

/** What a list row shows, as owner events carry it (a response adds the rest). */
export function toConversationEvent(row: ConversationEventRow): ConversationEventDataDto {
  return {
    id: row.id,
    title: row.title,
    titleSource:
      row.titleSource === 'user' || row.titleSource === 'generated' ? row.titleSource : null,
    topics: row.topics,
    archived: row.archived,
    pinned: row.pinned,
    model: row.model,
    updatedAt: row.updatedAt.toISOString(),
    lastMessageAt: row.lastMessageAt.toISOString(),
  };
}

export function toConversationListItem(item: ConversationListItem): ConversationListItemDto {
  const { row } = item;
  const response: ConversationListItemDto = {
    ...toConversationResponse(row),
    messageCount: row.messageCount,
    lastMessage:
      row.lastMessageRole === null
        ? null
        : {
            role: toRole(row.lastMessageRole),
            preview: row.lastMessagePreview ?? '',
            createdAt: (row.lastMessageCreatedAt ?? row.lastMessageAt).toISOString(),
          },
  };
  if (item.match) response.match = item.match;
  return response;
}

function toRole(role: string): LastMessageDto['role'] {
  return role === 'user' || role === 'system' || role === 'tool' ? role : 'assistant';
}
