import { Injectable } from '@nestjs/common';
import { sql } from 'kysely';

import { Db } from '../../database/db';
import { GenerateSql } from '../../database/generate-sql';
import type { ListedConversation } from '../conversation.mapper';
import type { ListFilter } from '../conversations.repository';
import { lastMessage, listSummaryColumns } from '../list-summary';

/** Ranks are reals; scaled to integers they page by keyset without float surprises. */
export const SCORE_SCALE = 1_000_000;

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
 * word for word. Messages: their stored search_vector (messages_content_search_idx).
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
      contents as (
        select distinct on (m.conversation_id) m.conversation_id as id, m.id as message_id,
          ts_rank(m.search_vector, q.query) as rank
        from messages m join conversations c on c.id = m.conversation_id, q
        where ${owned} and m.status = 'complete' and m.search_vector @@ q.query
        order by m.conversation_id, rank desc, m.seq
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
