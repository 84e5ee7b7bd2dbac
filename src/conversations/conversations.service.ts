import { ServerToolsService } from '../tools';
import { Injectable } from '@nestjs/common';

import { OwnerEvents } from '../cluster/owner-events';
import { AppException } from '../common/errors/app.exception';
import { AppConfig } from '../config/app-config';

import {
  decodeConversationsCursor,
  decodeSearchCursor,
  encodeCursor,
} from '../common/pagination/cursor';
import { Page } from '../common/pagination/page.dto';
import type { Conversation } from './conversation.mapper';
import { UnknownModelException } from '../llm/llm.errors';
import { LlmService } from '../llm/llm.service';
import { ConversationBusyException } from '../history/conversation-busy.exception';
import { MessageNotFoundException } from '../history/message-not-found.exception';
import { ConversationNotFoundException } from '../history/conversation-not-found.exception';
import { ListedConversation, toConversationEvent } from './conversation.mapper';
import {
  ConversationFields,
  ConversationsRepository,
  ListFilter,
} from './conversations.repository';
import { ListConversationsQueryDto } from './dto/list-conversations.query';
import { ConversationSearchRepository, SCORE_SCALE } from './search/conversation-search.repository';

/** A row of a list: the conversation, and where a search matched it. */
export interface ConversationListItem {
  row: ListedConversation;
  match?: { snippet: string; rank: number; messageId: string | null };
}

@Injectable()
export class ConversationsService {
  constructor(
    private readonly conversations: ConversationsRepository,
    private readonly searches: ConversationSearchRepository,
    private readonly llm: LlmService,
    private readonly config: AppConfig,
    private readonly events: OwnerEvents,
    private readonly serverTools: ServerToolsService,
  ) {}

  async create(ownerId: string, fields: ConversationFields): Promise<Conversation> {
    this.assertKnownModel(fields.model);
    if (fields.serverTools) this.serverTools.validatePatterns(fields.serverTools);
    const max = this.config.get('MAX_CONVERSATIONS_PER_OWNER');
    if ((await this.conversations.countOwned(ownerId)) >= max) {
      throw new AppException(
        'conversation_limit_reached',
        `You have ${max} conversations, the most allowed; delete some first`,
      );
    }
    const conversation = await this.conversations.create(ownerId, fields);
    this.events.publish(ownerId, 'conversation.created', toConversationEvent(conversation));
    return conversation;
  }

  async get(ownerId: string, id: string): Promise<Conversation> {
    const conversation = await this.conversations.findOwned(ownerId, id);
    if (!conversation) throw new ConversationNotFoundException(id);
    return conversation;
  }

  /** The owner's conversations, pinned first then by activity; ranked search with `q`. */
  async list(
    ownerId: string,
    query: ListConversationsQueryDto,
  ): Promise<Page<ConversationListItem>> {
    const filter: ListFilter = { ownerId, archived: query.archived, pinned: query.pinned };
    if (query.q !== undefined)
      return this.search(filter, query.q.trim(), query.limit, query.cursor);
    const after = query.cursor ? decodeConversationsCursor(query.cursor) : undefined;
    // One extra row tells whether another page exists without a count query.
    const rows = await this.conversations.listByActivity(
      filter,
      query.limit + 1,
      after && {
        pinned: after.pinned ?? false,
        lastMessageAt: new Date(after.lastMessageAt),
        id: after.id,
      },
    );
    const data = rows.slice(0, query.limit);
    const last = data.at(-1);
    const nextCursor =
      rows.length > query.limit && last
        ? encodeCursor({
            kind: 'conversations',
            pinned: last.pinned,
            lastMessageAt: last.lastMessageAt.toISOString(),
            id: last.id,
          })
        : null;
    return { data: data.map((row) => ({ row })), nextCursor };
  }

  private async search(
    filter: ListFilter,
    q: string,
    limit: number,
    cursor?: string,
  ): Promise<Page<ConversationListItem>> {
    const after = cursor ? decodeSearchCursor(cursor, q) : undefined;
    const hits = await this.searches.search(filter, q, limit + 1, after);
    const data = hits.slice(0, limit);
    const last = data.at(-1);
    const nextCursor =
      hits.length > limit && last
        ? encodeCursor({ kind: 'search', q, score: last.score, id: last.id })
        : null;
    return {
      data: data.map(({ score, snippet, messageId, ...row }) => ({
        row,
        match: { snippet, messageId, rank: score / SCORE_SCALE },
      })),
      nextCursor,
    };
  }

  /** Changes settings; `currentLeafId` switches the branch first (see switchBranch). */
  async update(
    ownerId: string,
    id: string,
    fields: ConversationFields & { currentLeafId?: string },
  ): Promise<Conversation> {
    const { currentLeafId, ...settings } = fields;
    this.assertKnownModel(settings.model);
    if (settings.serverTools) this.serverTools.validatePatterns(settings.serverTools);
    if (currentLeafId !== undefined) await this.switchBranch(ownerId, id, currentLeafId);
    const conversation = await this.conversations.update(ownerId, id, settings);
    if (!conversation) throw new ConversationNotFoundException(id);
    this.events.publish(ownerId, 'conversation.updated', toConversationEvent(conversation));
    return conversation;
  }

  /**
   * Shows another branch: the path now ends at the newest message below `messageId` (the
   * branch as it was last continued), and the next turn continues from there. Refused
   * with 409 while a turn runs, since that turn moves the leaf when it begins.
   */
  private async switchBranch(ownerId: string, id: string, messageId: string): Promise<void> {
    const outcome = await this.conversations.switchLeaf(ownerId, id, messageId);
    if (outcome === 'not_found') throw new ConversationNotFoundException(id);
    if (outcome === 'message_not_found') throw new MessageNotFoundException(messageId);
    if (outcome === 'busy') throw new ConversationBusyException();
  }

  private assertKnownModel(alias: string | null | undefined): void {
    if (alias && !this.llm.isKnown(alias)) throw new UnknownModelException(alias);
  }

  async delete(ownerId: string, id: string): Promise<void> {
    if (!(await this.conversations.delete(ownerId, id)))
      throw new ConversationNotFoundException(id);
    this.events.publish(ownerId, 'conversation.deleted', { id });
  }
}
