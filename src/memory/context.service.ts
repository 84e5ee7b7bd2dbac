import { Injectable } from '@nestjs/common';

import { AppException } from '../common/errors/app.exception';
import { AppConfig } from '../config/app-config';
import { ConversationNotFoundException } from '../history/conversation-not-found.exception';
import { ConversationsService } from '../conversations';
import { HistoryRepository } from '../history/history.repository';
import { mergeParams } from '../llm/generation-params';
import { LlmService } from '../llm/llm.service';
import { messageCost, PromptManager } from '../prompts/prompt-manager';
import { ContextManifest, toContextManifest } from '../history/context-manifest';
import type { ConversationContextDto } from './dto/context.dto';
import { MemoryRepository } from './memory.repository';
import { MemoryService } from './memory.service';

/**
 * The context of a conversation as users can inspect and reset it: what the next turn
 * would send, what each reply's prompt held, and starting the memory afresh.
 */
@Injectable()
export class ContextService {
  constructor(
    private readonly conversations: ConversationsService,
    private readonly history: HistoryRepository,
    private readonly memory: MemoryRepository,
    private readonly summaries: MemoryService,
    private readonly llm: LlmService,
    private readonly prompts: PromptManager,
    private readonly config: AppConfig,
  ) {}

  /**
   * The prompt the next turn would send before its message, read with the turn's own
   * window SQL, with the budget as the turn would plan it for an empty message.
   */
  async preview(ownerId: string, conversationId: string): Promise<ConversationContextDto> {
    const conversation = await this.conversations.get(ownerId, conversationId);
    const model = this.llm.resolve(conversation.model);
    const params = mergeParams(model.params, { maxTokens: conversation.maxTokens });
    const replyTokens = params.maxTokens ?? model.maxOutputTokens;
    const plan = this.prompts.plan({
      contextWindow: model.contextWindow,
      replyTokens,
      systemPrompt: conversation.systemPrompt,
      newMessageTokens: 0,
      summaries: this.config.get('SUMMARIES') === 'on',
    });
    const window = await this.history.previewWindow(
      conversationId,
      conversation.currentLeafId,
      plan.window,
    );
    const { mark, history } = window;
    const summary = mark?.kind === 'summary' ? mark : null;
    const prompt = this.prompts.build(plan, history, [], summary);
    const [system, ...rest] = prompt.messages;
    const promptTokens = prompt.promptTokens - prompt.parts.userMessage;
    const promptBudget = model.contextWindow - replyTokens;
    return {
      model: model.alias,
      contextWindow: model.contextWindow,
      replyTokens,
      promptBudget,
      messages: [
        { id: null, ...system, tokens: prompt.parts.system },
        ...(summary ? [{ id: null, ...rest[0], tokens: prompt.parts.summary }] : []),
        ...history.map((m) => ({
          id: m.id,
          role: m.role,
          content: m.content,
          tokens: messageCost(m.tokenCount),
        })),
      ],
      systemPrompt: { source: plan.systemPromptSource, tokens: prompt.parts.system },
      summary: summary && {
        throughMessageId: summary.messageId,
        throughSeq: summary.seq,
        summarizedMessages: summary.summarizedCount,
        tokens: prompt.parts.summary,
      },
      resetAfterMessageId: mark?.kind === 'reset' ? mark.messageId : null,
      omitted: window.omitted,
      promptTokens,
      availableForMessage: Math.max(0, promptBudget - promptTokens - messageCost(0)),
      memory: this.summaries.summaryPlan(model.alias),
    };
  }

  /** What the prompt of one reply held. */
  async manifest(
    ownerId: string,
    conversationId: string,
    messageId: string,
  ): Promise<ContextManifest> {
    await this.conversations.get(ownerId, conversationId);
    const found = await this.memory.findContext(conversationId, messageId);
    if (!found)
      throw new AppException(
        'message_not_found',
        `Message ${messageId} not found in this conversation`,
      );
    const manifest = toContextManifest(found.context);
    if (!manifest) {
      throw new AppException(
        'context_not_recorded',
        'This message has no context manifest: only assistant replies record one (replies stored before manifests existed, or cut short by a crash, have none)',
      );
    }
    return manifest;
  }

  /** Later turns on this path send nothing up to its current leaf; the history stays. */
  async reset(ownerId: string, conversationId: string): Promise<void> {
    const outcome = await this.memory.reset(
      ownerId,
      conversationId,
      this.config.get('PROCESS_DEAD_AFTER_MS'),
    );
    if (outcome === 'not_found') throw new ConversationNotFoundException(conversationId);
    if (outcome === 'busy') {
      throw new AppException(
        'conversation_busy',
        'A reply is being generated on this conversation; reset its context once it has finished (GET …/generation) or after cancelling it (POST …/cancel)',
      );
    }
  }
}
