import { Injectable } from '@nestjs/common';

import { AppException, ValidationFailedException } from '../common/errors/app.exception';
import { newId } from '../common/ids';
import { encodeCursor } from '../common/pagination/cursor';
import { AppConfig } from '../config/app-config';
import { ConversationsService } from '../conversations';
import { ConversationBusyException } from '../history/conversation-busy.exception';
import { ConversationNotFoundException } from '../history/conversation-not-found.exception';
import { HistoryRepository } from '../history/history.repository';
import { MessageNotFoundException } from '../history/message-not-found.exception';
import { MessagesService } from '../messages';
import { countTokensConservativelyAsync } from '../prompts/token-counter';
import type { CreateOpenAiConversationDto } from './dto/conversation.dto';
import type { ItemPageQuery } from './dto/response-query.dto';
import type {
  ConversationItemDto,
  ConversationObjectDto,
  DeletedObjectDto,
  ItemListDto,
} from './dto/response.dto';
import { InputEntry, InputMessage, readInput, refuseUnsupported } from './response-input';
import { parseItemId, parseOpenAiId, toOpenAiId } from './response-ids';
import { toItems } from './response.mapper';
import { ItemToStore, ResponsesRepository } from './responses.repository';

type ConversationRow = Awaited<ReturnType<ConversationsService['get']>>;

function toConversationObject(
  row: Pick<ConversationRow, 'id' | 'createdAt' | 'metadata'>,
): ConversationObjectDto {
  return {
    id: toOpenAiId('conversation', row.id),
    object: 'conversation',
    created_at: Math.floor(row.createdAt.getTime() / 1000),
    metadata: (row.metadata as Record<string, string> | null) ?? null,
  };
}

function toList(data: ConversationItemDto[], hasMore: boolean): ItemListDto {
  return {
    object: 'list',
    data,
    first_id: data[0]?.id ?? null,
    last_id: data.at(-1)?.id ?? null,
    has_more: hasMore,
  };
}

/**
 * The Conversations API on our conversations and messages (the same rows as /api/v1), and
 * what the Responses door stores beside its turns: input items appended without a reply.
 */
@Injectable()
export class ConversationItems {
  constructor(
    private readonly conversations: ConversationsService,
    private readonly messages: MessagesService,
    private readonly repository: ResponsesRepository,
    private readonly config: AppConfig,
    private readonly history: HistoryRepository,
  ) {}

  /** The owner's conversation by this door's id (or a bare UUID); 404 for anyone else's. */
  conversation(owner: string, ref: string): Promise<ConversationRow> {
    return this.conversations.get(owner, parseOpenAiId('conversation', ref));
  }

  async create(
    owner: string,
    fields: { systemPrompt: string | null; model: string | null },
  ): Promise<string> {
    return (await this.conversations.create(owner, fields)).id;
  }

  remove(owner: string, id: string): Promise<void> {
    return this.conversations.delete(owner, id);
  }

  /** Input entries as messages: an item_reference reads the owner's stored message. */
  async resolve(owner: string, entries: InputEntry[]): Promise<InputMessage[]> {
    const messages: InputMessage[] = [];
    for (const entry of entries) {
      if (entry.kind === 'message') {
        messages.push(entry.message);
        continue;
      }
      if (entry.kind !== 'reference')
        throw new AppException(
          'unsupported_input',
          'function_call and function_call_output items answer a response: send them to /v1/responses (with previous_response_id), after any message items',
        );
      const stored = await this.repository.findMessage(owner, parseItemId(entry.id));
      if (!stored) throw new MessageNotFoundException(entry.id);
      if (stored.role === 'tool')
        throw new AppException(
          'unsupported_input',
          `item_reference ${entry.id} names a tool result; this door does not take those as input yet`,
        );
      messages.push({ role: stored.role, text: stored.content });
    }
    return messages;
  }

  /**
   * Stores messages in order below `parentId` (the current leaf when absent); returns the
   * last one's id, or null when there were none.
   */
  async append(
    owner: string,
    conversationId: string,
    messages: InputMessage[],
    parentId: string | null = null,
  ) {
    if (messages.length === 0) return null;
    const items: ItemToStore[] = [];
    const max = this.config.get('MESSAGE_MAX_CHARS');
    for (const [index, message] of messages.entries()) {
      if (message.files?.length)
        throw new AppException(
          'unsupported_input',
          'input_image and input_file parts ride on the user message that starts a response (POST /v1/responses); items stored as they are take text only',
        );
      if (message.role === 'system')
        throw new AppException(
          'unsupported_input',
          'A system item can only start a new conversation (it becomes its system prompt)',
        );
      if (message.text.length > max)
        throw new ValidationFailedException([
          {
            field: `items.${index}`,
            errors: [`text must be at most ${max} characters (it has ${message.text.length})`],
          },
        ]);
      const tokenCount = await countTokensConservativelyAsync(message.text);
      items.push({ id: newId(), role: message.role, content: message.text, tokenCount });
    }
    const outcome = await this.repository.appendItems({
      ownerId: owner,
      conversationId,
      parentId,
      items,
    });
    if (outcome === 'not_found') throw new ConversationNotFoundException(conversationId);
    if (outcome === 'busy') throw new ConversationBusyException();
    return items[items.length - 1].id;
  }

  private async read(owner: string, items: Record<string, unknown>[]): Promise<InputMessage[]> {
    refuseUnsupported({ input: items });
    return this.resolve(owner, readInput(items));
  }

  async createConversation(
    owner: string,
    dto: CreateOpenAiConversationDto,
  ): Promise<ConversationObjectDto> {
    const messages = await this.read(owner, dto.items ?? []);
    const system = messages.filter((m) => m.role === 'system').map((m) => m.text);
    const id = await this.create(owner, {
      systemPrompt: system.length ? system.join('\n\n') : null,
      model: null,
    });
    await this.append(
      owner,
      id,
      messages.filter((m) => m.role !== 'system'),
    );
    const row = dto.metadata
      ? await this.repository.setMetadata(owner, id, dto.metadata)
      : undefined;
    return toConversationObject(row ?? (await this.conversations.get(owner, id)));
  }

  async get(owner: string, ref: string): Promise<ConversationObjectDto> {
    return toConversationObject(await this.conversation(owner, ref));
  }

  async update(
    owner: string,
    ref: string,
    metadata: Record<string, string>,
  ): Promise<ConversationObjectDto> {
    const row = await this.repository.setMetadata(
      owner,
      parseOpenAiId('conversation', ref),
      metadata,
    );
    if (!row) throw new ConversationNotFoundException(ref);
    return toConversationObject(row);
  }

  async delete(owner: string, ref: string): Promise<DeletedObjectDto> {
    const id = parseOpenAiId('conversation', ref);
    await this.conversations.delete(owner, id);
    return { id: toOpenAiId('conversation', id), object: 'conversation.deleted', deleted: true };
  }

  /** The conversation's current path, newest first by default, as OpenAI pages items. */
  async list(owner: string, ref: string, query: ItemPageQuery): Promise<ItemListDto> {
    const conversationId = parseOpenAiId('conversation', ref);
    let cursor: string | undefined;
    if (query.after) {
      const after = await this.repository.findMessage(
        owner,
        parseItemId(query.after),
        conversationId,
      );
      if (!after) throw new MessageNotFoundException(query.after);
      cursor = encodeCursor(
        query.order === 'desc'
          ? { kind: 'messages-desc', conversationId, id: after.id }
          : { kind: 'messages', conversationId, seq: after.seq },
      );
    }
    const page = await this.messages.listPath(owner, conversationId, {
      limit: query.limit,
      cursor,
      order: query.order,
    });
    return toList(page.data.flatMap(toItems), page.nextCursor !== null);
  }

  /** Appends items without a reply; answers them as stored. */
  async add(owner: string, ref: string, items: Record<string, unknown>[]): Promise<ItemListDto> {
    const conversation = await this.conversation(owner, ref);
    const messages = await this.read(owner, items);
    const lastId = await this.append(owner, conversation.id, messages);
    const page = await this.messages.listPath(owner, conversation.id, {
      limit: messages.length,
      leafId: lastId ?? undefined,
      order: 'desc',
    });
    return toList(page.data.reverse().flatMap(toItems), false);
  }

  async item(owner: string, ref: string, itemId: string): Promise<ConversationItemDto> {
    const conversationId = parseOpenAiId('conversation', ref);
    const row = await this.repository.findMessage(owner, parseItemId(itemId), conversationId);
    const items = row ? (await this.history.withAttachments([row])).flatMap(toItems) : [];
    const found = itemId.toLowerCase().startsWith('fc_')
      ? items.find((item) => item.id === itemId.toLowerCase())
      : items[0];
    if (!found) throw new MessageNotFoundException(itemId);
    return found;
  }

  /** Deletes one item at the end of a branch; answers the conversation, as OpenAI does. */
  async deleteItem(owner: string, ref: string, itemId: string): Promise<ConversationObjectDto> {
    const conversationId = parseOpenAiId('conversation', ref);
    const outcome = await this.repository.deleteMessage(owner, conversationId, parseItemId(itemId));
    if (outcome === 'not_found') throw new ConversationNotFoundException(ref);
    if (outcome === 'message_not_found') throw new MessageNotFoundException(itemId);
    if (outcome === 'busy') throw new ConversationBusyException();
    if (outcome === 'has_replies')
      throw new AppException(
        'message_has_replies',
        `Item '${itemId}' is followed by other messages; delete those first (only the end of a branch can be deleted)`,
      );
    return this.get(owner, conversationId);
  }
}
