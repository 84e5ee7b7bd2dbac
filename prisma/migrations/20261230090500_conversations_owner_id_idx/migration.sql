-- The order the messages.owner_id backfill walks conversations in: owner by owner, so an
-- owner's search uses the owner index as soon as that owner is filled.
--
-- Big tables: this file holds one statement and nothing else, so PostgreSQL runs it
-- outside a transaction block and CONCURRENTLY works here: writes to conversations go on
-- while it builds (1M conversations: seconds). IF NOT EXISTS: an operator who built it by
-- hand ahead of a deploy loses nothing. A failed concurrent build leaves an INVALID
-- index: drop it and deploy again.
CREATE INDEX CONCURRENTLY IF NOT EXISTS "conversations_owner_id_idx" ON "conversations"("owner_id", "id")
