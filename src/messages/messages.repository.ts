import { Injectable } from '@nestjs/common';
import { sql } from 'kysely';

import { Db } from '../database/db';
import { GenerateSql } from '../database/generate-sql';
import { preparedQuery } from '../database/prepared-query';
import { Message, MESSAGE_COLUMNS } from '../history/message';
import { messagePath, NO_LIMIT } from '../history/message-path';

/** A message on a path, with the siblings a reader can switch to (its own id among them). */
export interface PathMessage extends Message {
  /** Ids of the messages sharing its parent (itself included), oldest first. */
  siblingIds: string[];
}

/** A message of a page, and the current leaf of its conversation (the same on every row). */
export interface PageRow extends PathMessage {
  currentLeafId: string | null;
}

/** Which page of which path: the owner's conversation, `leafId` or its current leaf. */
export interface PageQuery {
  ownerId: string;
  conversationId: string;
  /** The path's last message; null reads the conversation's current path. */
  leafId: string | null;
  /** Messages after this seq (a cursor); -1 for the first page. */
  afterSeq: number;
  limit: number;
}

/** What an empty page leaves open: whether the conversation and the named leaf exist. */
export interface EmptyPageCheck {
  currentLeafId: string | null;
  containsLeaf: boolean;
}

/** The read side of messages: typed SQL on the Db (hot reads). */
@Injectable()
export class MessagesRepository {
  /** A page read as one prepared statement: owner check, path walk, columns and siblings. */
  private readonly pageQuery;
  private readonly emptyPageQuery;

  constructor(private readonly db: Db) {
    this.pageQuery = preparedQuery(db, (input: PageQuery) => this.buildPage(input));
    this.emptyPageQuery = preparedQuery(db, (input: Omit<PageQuery, 'afterSeq' | 'limit'>) =>
      db
        .selectFrom('conversations as c')
        .select('c.currentLeafId')
        .select((eb) =>
          eb
            .exists(
              eb
                .selectFrom('messages as m')
                .select('m.id')
                .where('m.id', '=', input.leafId)
                .whereRef('m.conversationId', '=', 'c.id'),
            )
            .as('containsLeaf'),
        )
        .where('c.id', '=', input.conversationId)
        .where('c.ownerId', '=', input.ownerId),
    );
  }

  /**
   * One page of the owner's conversation's path, oldest first, each row with the
   * conversation's current leaf. Empty when the conversation is not the owner's, when the
   * named leaf is not in it, or past the path's end: emptyPage tells which.
   */
  page(input: PageQuery): Promise<PageRow[]> {
    return this.pageQuery(input);
  }

  /** Undefined when the conversation is not the owner's. */
  async emptyPage(
    input: Omit<PageQuery, 'afterSeq' | 'limit'>,
  ): Promise<EmptyPageCheck | undefined> {
    const [row] = await this.emptyPageQuery(input);
    return row && { currentLeafId: row.currentLeafId, containsLeaf: Boolean(row.containsLeaf) };
  }

  /**
   * The page: its messages after seq `afterSeq` (seq grows along a path, so the oldest are
   * the deepest of the walk), at most `limit`.
   * The walk goes from the leaf up to the cursor, so a page costs the path below the cursor;
   * sibling ids are read for the page's messages only, through the (parent, conversation,
   * seq) index. The owner check is the leaf's lookup: another owner's conversation gives
   * no leaf, so no path. Built once (preparedQuery): the input is used as values only.
   */
  @GenerateSql()
  private buildPage(input: PageQuery) {
    const { ownerId, conversationId } = input;
    const owned = (column: ReturnType<typeof sql<string | null>>) =>
      sql<string | null>`(select ${column} from conversations c
        where c.id = ${conversationId} and c.owner_id = ${ownerId})`;
    const path = messagePath(this.db, {
      conversationId,
      lastId: owned(sql`coalesce(${input.leafId}::uuid, c.current_leaf_id)`),
      afterSeq: input.afterSeq,
      maxRows: NO_LIMIT,
      maxTokens: NO_LIMIT,
      messageOverhead: 0,
    });
    // The oldest `limit` of the walk are the deepest: only those are joined for their columns.
    const oldest = this.db
      .selectFrom(path.as('path'))
      .select('path.id')
      .orderBy('path.depth', 'desc')
      .limit(input.limit);
    const page = this.db
      .selectFrom(oldest.as('oldest'))
      .innerJoin('messages', 'messages.id', 'oldest.id')
      .select(MESSAGE_COLUMNS.map((column) => `messages.${column}` as const))
      .orderBy('messages.seq');
    // Two plain lookups on the (parent, conversation) index, never one OR a planner may scan
    // instead; a parent id names one conversation already, roots need the conversation.
    const siblings = (parent: 'root' | 'child') =>
      sql<string[] | null>`(select array_agg(s.id::text order by s.seq) from messages s where ${
        parent === 'root'
          ? sql`s.parent_id is null and s.conversation_id = ${conversationId}`
          : sql`s.parent_id = page.parent_id`
      })`;
    return this.db
      .selectFrom(page.as('page'))
      .selectAll('page')
      .select(
        sql<string[]>`case when page.parent_id is null then ${siblings('root')}
          else ${siblings('child')} end`.as('siblingIds'),
      )
      .select(owned(sql`c.current_leaf_id`).as('currentLeafId'))
      .orderBy('page.seq');
  }
}
