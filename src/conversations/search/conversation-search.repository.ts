import { Injectable } from '@nestjs/common';
import { sql } from 'kysely';

import { Db } from '../../database/db';
import { GenerateSql } from '../../database/generate-sql';
import type { ListedConversation } from '../conversation.mapper';
import type { ListFilter } from '../conversations.repository';
import { lastMessage, listSummaryColumns } from '../list-summary';
import { OWNER_BACKFILL } from './owner-backfill.repository';

/** Ranks are reals; scaled to integers they page by keyset without float surprises. */
export const SCORE_SCALE = 1_000_000;

/**
 * The matching messages ranked per search, at most: those of the owner's most recently
 * active conversations, up to MATCHES_PER_CONVERSATION each. A word in one message of a
 * hundred is ranked exactly; a word in every other message of a big owner is ranked among
 * its newest conversations' matches, so the cost stays the same whatever the owner holds.
 */
export const SEARCH_MATCHES = 1_000;
export const MATCHES_PER_CONVERSATION = 50;
/**
 * Conversations the search walks first: enough to reach SEARCH_MATCHES for a word in one
 * message of ten or more, few enough to cost little when the word is rare.
 */
export const HEAD_CONVERSATIONS = 100;

/** Plain text with the matched words wrapped in **, at most two fragments. */
const HEADLINE_OPTIONS =
  'StartSel=**, StopSel=**, MaxWords=30, MinWords=12, MaxFragments=2, FragmentDelimiter=" … "';

export interface SearchHit extends ListedConversation {
  score: number;
  snippet: string;
  messageId: string | null;
}

/** The last hit of the previous page. */
export interface SearchPosition {
  score: number;
  id: string;
}

/**
 * Full-text search over an owner's conversations: titles and the text of complete messages,
 * with PostgreSQL's `simple` configuration (no stemming, no stop words: the same for every
 * language) and web-search syntax. Titles: the expression of conversations_title_search_idx,
 * word for word. Messages: their stored search_vector, probed one conversation at a time
 * (messages_search_idx holds conversation_id beside it), newest conversation first: the
 * work follows the owner's conversations, never the whole table's matches of a word.
 */
@Injectable()
export class ConversationSearchRepository {
  constructor(private readonly db: Db) {}

  async search(
    filter: ListFilter,
    q: string,
    limit: number,
    after?: SearchPosition,
  ): Promise<SearchHit[]> {
    const result = await this.buildSearch(filter, q, limit, after).execute(this.db);
    return result.rows;
  }

  @GenerateSql(
    { name: 'first page', params: [{ ownerId: 'local', archived: false }, 'tea', 21] },
    {
      name: 'pinned only, after a position',
      params: [
        { ownerId: 'local', archived: false, pinned: true },
        'tea',
        21,
        { score: 1000, id: '00000000-0000-7000-8000-000000000000' },
      ],
    },
  )
  private buildSearch(filter: ListFilter, q: string, limit: number, after?: SearchPosition) {
    const pinned = filter.pinned === undefined ? sql`true` : sql`c.pinned = ${filter.pinned}`;
    const owned = sql`c.owner_id = ${filter.ownerId} and c.archived = ${filter.archived} and ${pinned}`;
    const keyset = after
      ? sql`(s.score, s.id) < (${after.score}::bigint, ${after.id}::uuid)`
      : sql`true`;
    return sql<SearchHit>`
      with q as (select websearch_to_tsquery('simple', ${q}) as query),
      titles as (
        select c.id, ts_rank(to_tsvector('simple', coalesce(c.title, '')), q.query) as rank
        from conversations c, q
        where ${owned} and to_tsvector('simple', coalesce(c.title, '')) @@ q.query
      ),
      owned as materialized (select c.id, c.last_message_at from conversations c where ${owned}),
      head as materialized (${walk(HEAD_CONVERSATIONS)}),
      owner_matches as materialized (${ownerMatches(filter.ownerId)}),
      matches as (${matches(filter.ownerId)}),
      contents as (
        select distinct on (m.conversation_id) m.conversation_id as id, m.id as message_id, m.rank
        from matches m
        order by m.conversation_id, m.rank desc, m.seq
      ),
      scored as (
        select coalesce(t.id, m.id) as id, m.message_id,
          round((2 * coalesce(t.rank, 0) + coalesce(m.rank, 0)) * ${SCORE_SCALE})::bigint as score
        from titles t full join contents m on m.id = t.id
      ),
      page as (
        select s.* from scored s where ${keyset} order by s.score desc, s.id desc limit ${limit}
      )
      select c.*, p.score::float8 as score, p.message_id, ${listSummaryColumns},
        ts_headline('simple', coalesce(m.content, c.title, ''), q.query, ${HEADLINE_OPTIONS}) as snippet
      from page p join conversations c on c.id = p.id
        left join messages m on m.id = p.message_id
        left join lateral ${lastMessage} lm on true
        cross join q
      order by p.score desc, p.id desc`;
  }
}

/**
 * The matching messages a search ranks, found the cheapest way that gives the same answer:
 * - the walk of the owner's HEAD_CONVERSATIONS newest conversations (`head`), when it
 *   reaches SEARCH_MATCHES: a common word, ranked among the newest matches as always;
 * - else, once the owner's rows are backfilled with owner_id and they hold at most
 *   SEARCH_MATCHES matches, all of them from one probe of messages_owner_search_idx: a rare
 *   word, ranked over all of its matches without a probe per conversation;
 * - else the walk of all the owner's conversations.
 * Each branch runs only when the one before it does not answer (one-time filters).
 */
function matches(ownerId: string) {
  const common = sql`(select count(*) from head) >= ${SEARCH_MATCHES}`;
  const rare = sql`(${ownerFilled(ownerId)} and (select count(*) from owner_matches) <= ${SEARCH_MATCHES})`;
  return sql`
        select * from head where ${common}
        union all
        select m.conversation_id, m.id, m.seq, ts_rank(m.search_vector, q.query) as rank
        from owner_matches m join owned c on c.id = m.conversation_id cross join q
        where not ${common} and ${rare}
        union all
        select * from (${walk()}) w where not ${common} and not ${rare}`;
}

/**
 * Whether the owner_id backfill has passed the owner (it goes owner by owner, see
 * OwnerBackfillRepository): then every message of theirs carries owner_id.
 */
const ownerFilled = (ownerId: string) => sql`exists (
          select 1 from backfills b where b.name = ${sql.lit(OWNER_BACKFILL)}
            and (b.done_at is not null or b.owner_position > ${ownerId})
        )`;

/**
 * Up to SEARCH_MATCHES + 1 of the owner's matches through messages_owner_search_idx, read
 * only when the head walk found few, and none until the owner is backfilled (rows without
 * owner_id would be missed): how many there are decides between them and the full walk.
 */
function ownerMatches(ownerId: string) {
  return sql`
        select m.conversation_id, m.id, m.seq, m.search_vector from messages m, q
        where m.owner_id = ${ownerId} and m.status = 'complete' and m.search_vector @@ q.query
          and (select count(*) from head) < ${SEARCH_MATCHES} and ${ownerFilled(ownerId)}
        limit ${SEARCH_MATCHES + 1}`;
}

/**
 * The owner's conversations (`owned`, read once by the owner's index: a limit here must
 * not lead the planner to walk every owner's conversations by time) newest first, all or
 * the first `conversations`, each probed through messages_search_idx, up to SEARCH_MATCHES
 * matches in all (see there).
 */
function walk(conversations?: number) {
  const first = conversations === undefined ? sql`` : sql`limit ${conversations}`;
  return sql`
        select m.conversation_id, m.id, m.seq, ts_rank(m.search_vector, q.query) as rank
        from (
          select c.id, c.last_message_at from owned c
          order by c.last_message_at desc, c.id desc ${first}
        ) c
        cross join q
        cross join lateral (
          select m.id, m.seq, m.conversation_id, m.search_vector from messages m
          where m.conversation_id = c.id and m.status = 'complete' and m.search_vector @@ q.query
          limit ${MATCHES_PER_CONVERSATION}
        ) m
        order by c.last_message_at desc, c.id desc
        limit ${SEARCH_MATCHES}`;
}
