import { toContextBrief } from '../history/context-manifest';
import { toToolCallDtos } from '../llm/dto/tools.dto';
import type { Message } from '../history/message';
import {
  FeedbackDto,
  MessageResponseDto,
  PathMessageResponseDto,
} from './dto/message-response.dto';
import type { PathMessage } from './messages.repository';

export function toFeedback(
  row: Pick<Message, 'feedbackRating' | 'feedbackComment' | 'feedbackAt'>,
): FeedbackDto | null {
  const { feedbackRating: rating, feedbackComment: comment, feedbackAt } = row;
  if ((rating !== 'up' && rating !== 'down') || !feedbackAt) return null;
  return { rating, comment, updatedAt: feedbackAt.toISOString() };
}

export function toMessageResponse(row: Message): MessageResponseDto {
  const hasUsage = row.promptTokens !== null || row.completionTokens !== null;
  return {
    id: row.id,
    conversationId: row.conversationId,
    parentId: row.parentId,
    seq: row.seq,
    role: row.role,
    content: row.content,
    name: row.speakerName,
    metadata: (row.metadata as Record<string, string> | null) ?? null,
    reasoning: row.reasoning,
    status: row.status,
    toolCalls: toToolCallDtos(row.toolCalls),
    toolCallId: row.toolCallId,
    model: row.model,
    upstreamModel: row.upstreamModel,
    usage: hasUsage
      ? {
          promptTokens: row.promptTokens,
          completionTokens: row.completionTokens,
          totalTokens: (row.promptTokens ?? 0) + (row.completionTokens ?? 0),
          estimated: row.usageEstimated,
        }
      : null,
    latencyMs: row.latencyMs,
    ttftMs: row.ttftMs,
    finishReason: row.finishReason,
    error: row.errorCode ? { code: row.errorCode, message: row.errorMessage } : null,
    context: toContextBrief(row.context),
    createdAt: row.createdAt.toISOString(),
    completedAt: row.completedAt?.toISOString() ?? null,
    feedback: toFeedback(row),
    attachments: row.attachments ?? [],
  };
}

export function toPathMessageResponse(row: PathMessage): PathMessageResponseDto {
  const { siblingIds } = row;
  return {
    ...toMessageResponse(row),
    siblingCount: siblingIds.length,
    siblingIndex: siblingIds.indexOf(row.id) + 1,
    siblingIds,
  };
}
