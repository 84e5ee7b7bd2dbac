-- Search by owner without a global scan: GIN on (conversation_id, search_vector) of
-- complete messages. The search walks the owner's conversations and asks this index for
-- each one's matches, so its cost follows the owner's data, not the table's.
--
-- Big tables: this file holds one statement and nothing else, so PostgreSQL runs it
-- outside a transaction block and CONCURRENTLY works here. Writes to messages go on while
-- it builds (measured: bench/results/scale.md). IF NOT EXISTS: an operator who built it by
-- hand ahead of a deploy loses nothing. A failed concurrent build leaves an INVALID
-- index: drop it and deploy again.
CREATE INDEX CONCURRENTLY IF NOT EXISTS "messages_search_idx" ON "messages" USING GIN ("conversation_id", "search_vector") WHERE "status" = 'complete'
