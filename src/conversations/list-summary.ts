import { sql } from 'kysely';

/** What a list row adds to its conversation: enough for a chat sidebar. */
export interface ListSummary {
  messageCount: number;
  lastMessageRole: string | null;
  lastMessagePreview: string | null;
  lastMessageCreatedAt: Date | null;
}

export const PREVIEW_CHARS = 200;

/**
 * Every message of the conversation aliased `c`, all branches: an index-only count over
 * messages_conversation_seq_key. The current path's length is what a sidebar would rather
 * show, but it needs a walk of the path or a depth column kept by every write.
 */
export const messageCount = sql<number>`(select count(*)::int from messages n where n.conversation_id = c.id)`;

/**
 * The newest message with text on the current path of `c`, read by key: the current leaf,
 * or its parent when the leaf is a reply with no text yet (streaming, or failed before
 * any). Two primary-key reads per row, whatever the conversation's length.
 */
export const lastMessage = sql<{ role: string; preview: string; createdAt: Date }>`(
    select m.role, substr(m.content, 1, ${sql.lit(PREVIEW_CHARS)}) as preview, m.created_at
    from messages leaf
      join messages m on m.id in (leaf.id, leaf.parent_id)
    where leaf.id = c.current_leaf_id
    order by m.content <> '' desc, m.seq desc
    limit 1
  )`;

/** ListSummary's columns, in a raw query that joined lastMessage as `lm`. */
export const listSummaryColumns = sql`${messageCount} as message_count,
  lm.role as last_message_role, lm.preview as last_message_preview,
  lm.created_at as last_message_created_at`;
