import { Kysely, RawBuilder, sql } from 'kysely';

import type { DB, MessageRole, MessageStatus } from '../generated/kysely/database';
import type { ToolCall } from '../llm/llm.types';

/** A bound given as a value, or as SQL read in the same statement (in parentheses). */
type Bound = number | RawBuilder<number>;

/** A walk up a conversation's tree, from one message towards the root. */
export interface PathWalk {
  conversationId: string;
  /**
   * The last message of the path (a leaf, or any message); null gives an empty path. SQL
   * (in parentheses) lets a read find it in the same statement, e.g. a conversation's leaf.
   */
  lastId: string | null | RawBuilder<string | null>;
  /** Most messages walked, whatever their status: the read never goes further. */
  maxRows: Bound;
  /** Stop after the first message whose `running` cost exceeds this. */
  maxTokens: Bound;
  /** What each complete message costs on top of its tokenCount (see PromptManager). */
  messageOverhead: number;
  /** Stop before the first message with this seq or a lower one (a page's cursor); -1 by default. */
  afterSeq?: Bound;
  /** Stop after the first message (by its id) for which this holds; that one is returned. */
  stopAfter?: (id: RawBuilder<string>) => RawBuilder<boolean>;
  /**
   * Carry each message's content, speaker name and tool calls in the walk (null otherwise):
   * a window reads them.
   */
  content?: boolean;
}

/**
 * The first message of a walk must be in the conversation; checked as a filter no index
 * can serve, so the message is found by its primary key even on tables without statistics
 * (where a planner may prefer an index on conversation_id alone and scan the conversation).
 */
const inConversation = (conversationId: string) =>
  sql<boolean>`(messages.conversation_id = ${conversationId}) is true`;

/**
 * The statuses of messages a prompt's history holds: finished ones, and a reply that
 * called the client's tools (its results follow it, or the prompt drops its calls).
 */
export const IN_HISTORY = ['complete', 'requires_action'] as const;

/** No token budget, or no row limit: walk until the root. */
export const NO_LIMIT = 2_147_483_647;

/** What the walk carries of each message besides its place on the path. */
const carried = (table: 'messages' | 'm', content: boolean) => [
  ...carriedFor(table, content),
  (content ? sql.ref<ToolCall[] | null>(`${table}.toolCalls`) : sql<null>`null::jsonb`).as(
    'toolCalls',
  ),
  (content ? sql.ref<string | null>(`${table}.toolCallId`) : sql<null>`null::text`).as(
    'toolCallId',
  ),
];

const carriedFor = (table: 'messages' | 'm', content: boolean) => [
  sql.ref<number>(`${table}.seq`).as('seq'),
  sql.ref<MessageRole>(`${table}.role`).as('role'),
  sql.ref<MessageStatus>(`${table}.status`).as('status'),
  sql.ref<number>(`${table}.tokenCount`).as('tokenCount'),
  (content ? sql.ref<string>(`${table}.content`) : sql<string>`null::text`).as('content'),
  (content ? sql.ref<string | null>(`${table}.speakerName`) : sql<null>`null::text`).as(
    'speakerName',
  ),
];

/**
 * The path ending at `lastId`, newest first: one row per message, `depth` 1 for lastId
 * and one more per step towards the root, `running` the cost of the complete messages
 * walked so far (tokenCount + messageOverhead each, this one included). The walk stops
 * after maxRows messages, or after the first message whose running cost exceeds
 * maxTokens (that one is returned, so a window keeps `running <= maxTokens`).
 *
 * One primary-key lookup per message walked: what a path costs follows the rows a caller
 * asks for, never the size of the conversation or of its other branches. The one place
 * that knows how a path is read (turn history, message pages, summaries). Each row carries
 * the message's seq, role, status, token count (and content if asked): a window needs no
 * second read of messages, whose join a planner without fresh statistics may turn into a
 * scan of the table per path row. For other columns join `id` to messages. Usable as a
 * CTE or subquery (it carries its own WITH).
 */
export function messagePath<C extends boolean = false>(
  db: Kysely<DB>,
  walk: PathWalk & { content?: C },
) {
  const afterSeq = walk.afterSeq ?? -1;
  const stopAfter = walk.stopAfter ?? (() => sql<boolean>`false`);
  const content = walk.content ?? false;
  const cost = (table: 'messages' | 'm') =>
    sql<number>`case when ${sql.ref(`${table}.status`)} in ('complete', 'requires_action')
      then ${sql.ref(`${table}.tokenCount`)} + ${walk.messageOverhead}::int else 0 end`;
  return db
    .withRecursive(
      'path(id, parent, depth, running, seq, role, status, tokenCount, content, speakerName, toolCalls, toolCallId)',
      (qc) =>
        qc
          .selectFrom('messages')
          .select(['messages.id', 'messages.parentId as parent', sql<number>`1`.as('depth')])
          .select(cost('messages').as('running'))
          .select(carried('messages', content))
          .where('messages.id', '=', walk.lastId)
          .where(inConversation(walk.conversationId))
          .where('messages.seq', '>', afterSeq)
          .unionAll(
            qc
              .selectFrom('path')
              .innerJoin('messages as m', 'm.id', 'path.parent')
              .select(['m.id', 'm.parentId as parent'])
              .select(sql<number>`path.depth + 1`.as('depth'))
              .select(sql<number>`path.running + ${cost('m')}`.as('running'))
              .select(carried('m', content))
              // By id alone: the parent key keeps a parent in its conversation, and a condition
              // on conversation_id here lets a planner without statistics pick an index on it
              // and scan the conversation once per step.
              .where('m.seq', '>', afterSeq)
              .where(sql<boolean>`path.depth < ${walk.maxRows}::int`)
              .where(sql<boolean>`path.running <= ${walk.maxTokens}::int`)
              .where(sql<boolean>`not ${stopAfter(sql<string>`path.id`)}`),
          ),
    )
    .selectFrom('path')
    .select([
      sql<string>`path.id`.as('id'),
      sql<string | null>`path.parent`.as('parentId'),
      sql<number>`path.depth`.as('depth'),
      sql<number>`path.running`.as('running'),
      sql.ref<number>('path.seq').as('seq'),
      sql.ref<MessageRole>('path.role').as('role'),
      sql.ref<MessageStatus>('path.status').as('status'),
      sql.ref<number>('path.tokenCount').as('tokenCount'),
      sql.ref<C extends true ? string : null>('path.content').as('content'),
      sql.ref<string | null>('path.speakerName').as('speakerName'),
      sql.ref<ToolCall[] | null>('path.toolCalls').as('toolCalls'),
      sql.ref<string | null>('path.toolCallId').as('toolCallId'),
    ]);
}

/**
 * The newest message in the subtree of `messageId` (itself included), which is always a
 * leaf: a child is newer than its parent. Switching to a message shows the branch below it
 * as it was last continued. Reads the subtree through the (conversation, parent) index.
 */
export function newestBelow(db: Kysely<DB>, conversationId: string, messageId: string) {
  return db
    .withRecursive('below(id, seq)', (qc) =>
      qc
        .selectFrom('messages')
        .select(['messages.id', 'messages.seq'])
        .where('messages.id', '=', messageId)
        .where(inConversation(conversationId))
        .unionAll(
          qc
            .selectFrom('below')
            .innerJoin('messages as m', 'm.parentId', 'below.id')
            .select(['m.id', 'm.seq']),
        ),
    )
    .selectFrom('below')
    .select(sql<string>`below.id`.as('id'))
    .orderBy(sql`below.seq`, 'desc')
    .limit(1);
}
