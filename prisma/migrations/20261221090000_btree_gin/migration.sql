-- btree_gin lets one GIN index hold a plain column (conversation_id) beside a tsvector, so
-- search probes one conversation's matches without reading other owners' messages (see
-- the next migration). A trusted extension: the database owner may create it, and doing
-- so only adds operator classes, no table is touched.
CREATE EXTENSION IF NOT EXISTS btree_gin;
