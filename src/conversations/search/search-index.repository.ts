import { Injectable } from '@nestjs/common';
import { sql } from 'kysely';

import { Db } from '../../database/db';

/**
 * The two GIN indexes on messages.search_vector (messages_search_idx and
 * messages_owner_search_idx) take new entries into a pending list (fastupdate) instead of
 * their trees: an insert appends to it, cheaply. Every probe of the index reads that list in
 * full, and search probes messages_search_idx once per conversation it walks (up to
 * HEAD_CONVERSATIONS), so the list's size multiplies into every search: on the 10.9M-message
 * database, 40 pending pages made the big owner's search 49 ms instead of 12 (docs/scale.md).
 * Left alone, the list grows to gin_pending_list_limit (4 MB) before an insert merges it,
 * and that insert's turn waits about half a second for it.
 */
@Injectable()
export class SearchIndexRepository {
  constructor(private readonly db: Db) {}

  /** Merges both pending lists into their trees; returns the pending pages merged. */
  async mergePendingEntries(): Promise<number> {
    const result = await sql<{ pages: string }>`select (
        gin_clean_pending_list('messages_search_idx'::regclass)
        + gin_clean_pending_list('messages_owner_search_idx'::regclass)
      )::text as pages`.execute(this.db);
    return Number(result.rows[0].pages);
  }
}
