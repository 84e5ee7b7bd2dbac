-- The global GIN index on search_vector is replaced by messages_search_idx (by
-- conversation). One statement alone in its file, so CONCURRENTLY works: no lock that
-- blocks reads or writes of messages while it goes.
DROP INDEX CONCURRENTLY IF EXISTS "messages_content_search_idx"
