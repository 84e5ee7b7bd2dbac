import { Injectable } from '@nestjs/common';
import { AliasedExpression, RawBuilder, sql } from 'kysely';

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

/** A page newest first: the path's newest messages, or those above a cursor's message. */
export interface NewestPageQuery extends Omit<PageQuery, 'afterSeq'> {
  /** The page goes on above this message (the oldest of the previous page); null at first. */
  aboveId: string | null;
}

/** What an empty page leaves open: whether the conversation and the named leaf exist. */
export interface EmptyPageCheck {
  currentLeafId: string | null;
  containsLeaf: boolean;
}

/** A column of the owner's conversation `c`, read as a subquery (null when not theirs). */
const ownedBy = (ownerId: string, conversationId: string) => (column: RawBuilder<string | null>) =>
  sql<string | null>`(select ${column} from conversations c
      where c.id = ${conversationId} and c.owner_id = ${ownerId})`;

/** The read side of messages: typed SQL on the Db (hot reads). */
@Injectable()
export class MessagesRepository {
  /** A page read as one prepared statement: owner check, path walk, columns and siblings. */
  private readonly pageQuery;
  private readonly newestPageQuery;
  private readonly emptyPageQuery;

  constructor(private readonly db: Db) {
    this.pageQuery = preparedQuery(db, (input: PageQuery) => this.buildPage(input));
    this.newestPageQuery = preparedQuery(db, (input: NewestPageQuery) =>
      this.buildNewestPage(input),
    );
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

  /**
   * One page of the path newest first: at most `limit` messages walked up from the leaf,
   * or from the parent of `aboveId`. Empty in the cases `page` is, and for an `aboveId`
   * that is not in the owner's conversation.
   */
  newestPage(input: NewestPageQuery): Promise<PageRow[]> {
    return this.newestPageQuery(input);
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
    const owned = ownedBy(ownerId, conversationId);
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
    return this.withSiblings(input, oldest.as('ids'), 'asc');
  }

  /**
   * The newest page: the walk starts at the leaf (or above the cursor's message) and stops
   * after `limit` messages, so a page costs its own rows whatever the path's length. The
   * cursor's message is looked up in the owner's conversation, which is the owner check.
   */
  private buildNewestPage(input: NewestPageQuery) {
    const { ownerId, conversationId } = input;
    const owned = ownedBy(ownerId, conversationId);
    const start = sql<string | null>`case when ${input.aboveId}::uuid is null
      then ${owned(sql`coalesce(${input.leafId}::uuid, c.current_leaf_id)`)}
      else (select m.parent_id from messages m
        where m.id = ${input.aboveId}::uuid and m.conversation_id = ${conversationId}
          and exists ${owned(sql`c.id`)}) end`;
    const path = messagePath(this.db, {
      conversationId,
      lastId: start,
      maxRows: input.limit,
      maxTokens: NO_LIMIT,
      messageOverhead: 0,
    });
    const newest = this.db.selectFrom(path.as('path')).select('path.id');
    return this.withSiblings(input, newest.as('ids'), 'desc');
  }

  /** The page's messages in `order` by seq, with their siblings and the current leaf. */
  private withSiblings(
    input: Pick<PageQuery, 'ownerId' | 'conversationId'>,
    ids: AliasedExpression<{ id: string }, 'ids'>,
    order: 'asc' | 'desc',
  ) {
    const { ownerId, conversationId } = input;
    const owned = ownedBy(ownerId, conversationId);
    const page = this.db
      .selectFrom(ids)
      .innerJoin('messages', 'messages.id', 'ids.id')
      .select(MESSAGE_COLUMNS.map((column) => `messages.${column}` as const));
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
      .orderBy('page.seq', order);
  }
}
