import { sql } from 'kysely';

import type { TurnAnchor } from './turns.types';

// SQL fragments of a claim that depend on where the turn attaches (see TurnAnchor); they
// read the claim's `anchor` CTE and the conversation row `c`.

/**
 * Whether the claim's anchor (the `anchor` CTE) suits the turn: a send needs none, an
 * edit a user message, a regenerate a user message or a reply to one, an after any message.
 */
export const anchorFits = (anchor: TurnAnchor) =>
  sql<boolean>`case ${anchor}::text when 'leaf' then true
    when 'edit' then exists (select 1 from anchor where role = 'user')
    when 'after' then exists (select 1 from anchor)
    else exists (select 1 from anchor where answered_id is not null) end`;

/** How far a claim moves next_seq: a regenerate stores one message, the others two. */
export const seqStep = (anchor: TurnAnchor) =>
  sql<number>`case when ${anchor}::text = 'regenerate' then 1 else 2 end`;

/** The parent of the turn's user message (for a regenerate, of the one it answers again). */
export const turnParent = (anchor: TurnAnchor) =>
  sql<string | null>`case ${anchor}::text when 'leaf' then c.current_leaf_id
    when 'edit' then (select parent_id from anchor)
    when 'after' then (select id from anchor)
    else (select answered_parent_id from anchor) end`;
