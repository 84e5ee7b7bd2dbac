import { Injectable } from '@nestjs/common';
import { RawBuilder, sql, Updateable } from 'kysely';

import { newId } from '../common/ids';
import { Db } from '../database/db';
import { preparedQuery } from '../database/prepared-query';
import type { DB } from '../generated/kysely/database';
import { ToolDefinitionDto, toToolDefinitions } from '../llm/dto/tools.dto';
import type { ToolDefinition } from '../llm/llm.types';
import type { Conversation } from './conversation.mapper';
import { newestBelow } from '../history/message-path';
import type { ListedConversation } from './conversation.mapper';
import { lastMessage, messageCount } from './list-summary';

export interface ConversationFields {
  title?: string | null;
  systemPrompt?: string | null;
  model?: string | null;
  params?: { temperature?: number; topP?: number; maxTokens?: number; seed?: number } | null;
  archived?: boolean;
  pinned?: boolean;
  /** The conversation's default function tools, in OpenAI's shape; null or empty for none. */
  tools?: ToolDefinitionDto[] | null;
  /** MCP server tools every turn may call: `server/tool` or `server/*`. */
  serverTools?: string[];
}

type Columns = Omit<Updateable<DB['conversations']>, 'tools'> & {
  tools?: RawBuilder<ToolDefinition[] | null>;
};

function toColumns(fields: ConversationFields): Columns {
  const { params, tools, ...given } = fields;
  // A title given here is the user's: generated titles never replace it.
  const rest =
    given.title === undefined
      ? given
      : { ...given, titleSource: given.title === null ? null : 'user' };
  const withTools = tools === undefined ? rest : { ...rest, tools: toolsColumn(tools) };
  if (params === undefined) return withTools;
  return {
    ...withTools,
    temperature: params?.temperature ?? null,
    topP: params?.topP ?? null,
    maxTokens: params?.maxTokens ?? null,
    seed: params?.seed ?? null,
  };
}

/** Stored as our ToolDefinition list, as JSON text (pg would send an array as a PostgreSQL array). */
function toolsColumn(tools: ToolDefinitionDto[] | null) {
  const definitions = tools && tools.length > 0 ? toToolDefinitions(tools) : null;
  return sql<ToolDefinition[] | null>`${definitions && JSON.stringify(definitions)}::jsonb`;
}

/** How a branch switch went. */
export type SwitchOutcome = 'switched' | 'not_found' | 'message_not_found' | 'busy';

const now = sql<Date>`now()`;

interface OwnedConversation {
  ownerId: string;
  id: string;
}

/** Which of an owner's conversations a list shows. */
export interface ListFilter {
  ownerId: string;
  archived: boolean;
  /** Undefined: pinned and unpinned, pinned first. */
  pinned?: boolean;
}

/** What listByActivity's prepared statements bind. */
interface ListInput {
  filter: ListFilter;
  limit: number;
  after?: ListPosition;
}

/** The last row of the previous page. */
export interface ListPosition {
  pinned: boolean;
  lastMessageAt: Date;
  id: string;
}

@Injectable()
export class ConversationsRepository {
  /**
   * Every read of a conversation goes through the owner check, so it is typed SQL prepared
   * once: Prisma compiles each call's query anew, which cost several times the query itself.
   */
  private readonly findOwnedQuery;
  /** listByActivity's shapes: [all, by pin, all after a position, by pin after a position]. */
  private readonly listQueries;

  constructor(private readonly db: Db) {
    this.findOwnedQuery = preparedQuery(db, (input: OwnedConversation) =>
      db
        .selectFrom('conversations')
        .selectAll()
        .where('id', '=', input.id)
        .where('ownerId', '=', input.ownerId),
    );
    this.listQueries = [false, true].flatMap((paged) =>
      [false, true].map((byPin) => preparedQuery(db, this.buildList(byPin, paged))),
    );
  }

  /**
   * Makes the newest message below `messageId` the conversation's current leaf, unless a
   * turn holds the conversation (its claim; a crashed holder's is swept within seconds).
   * One statement: the claim and the switch cannot interleave.
   */
  async switchLeaf(ownerId: string, id: string, messageId: string): Promise<SwitchOutcome> {
    const row = await this.db
      .with('target', (db) =>
        db
          .selectFrom('conversations')
          .select('id')
          .where('id', '=', id)
          .where('ownerId', '=', ownerId),
      )
      .with('leaf', () => newestBelow(this.db, id, messageId))
      .with('switched', (db) =>
        db
          .updateTable('conversations')
          .set((eb) => ({
            currentLeafId: eb.selectFrom('leaf').select('id'),
            updatedAt: sql<Date>`now()`,
          }))
          .where('id', 'in', (eb) => eb.selectFrom('target').select('id'))
          .where('activeTurnId', 'is', null)
          .where((eb) => eb.exists(eb.selectFrom('leaf').select('id')))
          .returning('id'),
      )
      .selectNoFrom((eb) => [
        eb.exists(eb.selectFrom('target').select('id')).as('found'),
        eb.exists(eb.selectFrom('leaf').select('id')).as('messageFound'),
        eb.exists(eb.selectFrom('switched').select('id')).as('switched'),
      ])
      .executeTakeFirstOrThrow();
    if (!row.found) return 'not_found';
    if (!row.messageFound) return 'message_not_found';
    return row.switched ? 'switched' : 'busy';
  }

  /** The timestamps come from the column defaults: one transaction time for all three. */
  create(ownerId: string, fields: ConversationFields): Promise<Conversation> {
    return this.db
      .insertInto('conversations')
      .values({ ...toColumns(fields), id: newId(), ownerId })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  async countOwned(ownerId: string): Promise<number> {
    const row = await this.db
      .selectFrom('conversations')
      .select((eb) => eb.fn.countAll<string>().as('count'))
      .where('ownerId', '=', ownerId)
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }

  async findOwned(ownerId: string, id: string): Promise<Conversation | null> {
    const [row] = await this.findOwnedQuery({ ownerId, id });
    return row ?? null;
  }

  /**
   * Pinned first, then newest activity; keyset pagination on (pinned, lastMessageAt, id),
   * all descending, served by conversations_owner_list_idx. Four fixed shapes (with or
   * without the pinned filter, first page or after a position), each prepared once.
   */
  listByActivity(
    filter: ListFilter,
    limit: number,
    after?: ListPosition,
  ): Promise<ListedConversation[]> {
    const shape = (filter.pinned === undefined ? 0 : 1) + (after ? 2 : 0);
    return this.listQueries[shape]({ filter, limit, after });
  }

  private buildList(filteredByPin: boolean, paged: boolean) {
    return (input: ListInput) => {
      const { filter, after } = input;
      let query = this.db
        .selectFrom('conversations as c')
        .leftJoinLateral(lastMessage.as('lm'), (join) => join.onTrue())
        .selectAll('c')
        .select([
          messageCount.as('messageCount'),
          'lm.role as lastMessageRole',
          'lm.preview as lastMessagePreview',
          'lm.createdAt as lastMessageCreatedAt',
        ])
        .where('ownerId', '=', filter.ownerId)
        .where('archived', '=', filter.archived);
      if (filteredByPin) query = query.where('pinned', '=', filter.pinned!);
      if (paged)
        query = query.where(
          (eb) => eb.tuple(eb.ref('pinned'), eb.ref('lastMessageAt'), eb.ref('id')),
          '<',
          (eb) =>
            eb.tuple(
              eb.val(after!.pinned),
              eb.cast<Date>(eb.val(after!.lastMessageAt), 'timestamptz'),
              eb.cast<string>(eb.val(after!.id), 'uuid'),
            ),
        );
      return query
        .orderBy('pinned', 'desc')
        .orderBy('lastMessageAt', 'desc')
        .orderBy('id', 'desc')
        .limit(input.limit);
    };
  }

  /** Returns null when the conversation does not exist for this owner. */
  async update(
    ownerId: string,
    id: string,
    fields: ConversationFields,
  ): Promise<Conversation | null> {
    const row = await this.db
      .updateTable('conversations')
      .set({ ...toColumns(fields), updatedAt: now })
      .where('id', '=', id)
      .where('ownerId', '=', ownerId)
      .returningAll()
      .executeTakeFirst();
    return row ?? null;
  }

  /** Messages go with it (ON DELETE CASCADE). Returns false when there was nothing to delete. */
  async delete(ownerId: string, id: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('conversations')
      .where('id', '=', id)
      .where('ownerId', '=', ownerId)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  }
}
