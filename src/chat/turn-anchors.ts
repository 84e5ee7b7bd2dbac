import { sql } from 'kysely';

import type { TurnAnchor } from './turns.types';

// SQL fragments of a claim that depend on where the turn attaches (see TurnAnchor); they
// read the claim's `anchor` CTE and the conversation row `c`.

/**
 * Whether the claim's anchor (the `anchor` CTE) suits the turn: a send needs none, an
 * edit a user message, a regenerate a user message or a reply to one, tool results a
 * reply waiting for them, an after any message.
 */
export const anchorFits = (anchor: TurnAnchor) =>
  sql<boolean>`case ${anchor}::text when 'leaf' then true
    when 'edit' then exists (select 1 from anchor where role = 'user')
    when 'tool_results' then exists (select 1 from anchor
      where role = 'assistant' and status = 'requires_action')
    when 'after' then exists (select 1 from anchor)
    else exists (select 1 from anchor where answered_id is not null) end`;

/** How far a claim moves next_seq: the messages the turn stores, its reply included. */
export const seqStep = (inputCount: number) => sql<number>`(${inputCount}::int + 1)`;

/**
 * The parent of the turn's user message (for a regenerate, of the one it answers again; for
 * tool results, of the first result: the reply waiting for them; for an after, that message).
 */
export const turnParent = (anchor: TurnAnchor) =>
  sql<string | null>`case ${anchor}::text when 'leaf' then c.current_leaf_id
    when 'edit' then (select parent_id from anchor)
    when 'tool_results' then (select id from anchor)
    when 'after' then (select id from anchor)
    else (select case when answered_role = 'tool' then answered_id
      else answered_parent_id end from anchor) end`;
