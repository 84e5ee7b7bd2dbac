-- A message inserted without owner_id gets its conversation's owner, so search's owner index
-- never misses it. The statements of this version always write owner_id (the trigger's WHEN
-- skips them before any function call). An older replica still running during a rolling
-- deploy does not, and without this its rows would stay empty after the backfill
-- (src/conversations/search/owner-backfill.service.ts) had passed their owner, which search
-- then trusts to have every row filled.
--
-- Big tables: the trigger changes the catalog only (no rewrite, no scan) and holds its
-- SHARE ROW EXCLUSIVE lock on messages for milliseconds. Rows written before it are the
-- backfill's, which starts after every migration has run.
--
-- The function's body is an E'' string whose semicolons are written as octal 073: Prisma's
-- driver adapter splits a migration at every semicolon, dollar quotes or not.
CREATE FUNCTION "messages_fill_owner_id"() RETURNS trigger LANGUAGE plpgsql AS E'
BEGIN
  SELECT c.owner_id INTO NEW.owner_id FROM conversations c WHERE c.id = NEW.conversation_id\073
  RETURN NEW\073
END
';

CREATE TRIGGER "messages_fill_owner_id"
  BEFORE INSERT ON "messages"
  FOR EACH ROW
  WHEN (NEW."owner_id" IS NULL)
  EXECUTE FUNCTION "messages_fill_owner_id"();
