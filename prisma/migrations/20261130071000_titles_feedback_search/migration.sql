-- Titles and topics, archive and pin flags, feedback on replies, full-text search.

-- AlterTable
ALTER TABLE "conversations" ADD COLUMN "title_source" VARCHAR(20),
ADD COLUMN "topics" TEXT[] NOT NULL DEFAULT ARRAY[]::TEXT[],
ADD COLUMN "archived" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN "pinned" BOOLEAN NOT NULL DEFAULT false;

-- Titles present before this migration were set by users (nothing generated them)
UPDATE "conversations" SET "title_source" = 'user' WHERE "title" IS NOT NULL;

-- AlterTable
ALTER TABLE "messages" ADD COLUMN "feedback_rating" VARCHAR(4),
ADD COLUMN "feedback_comment" TEXT,
ADD COLUMN "feedback_at" TIMESTAMPTZ(3);

-- The list is now filtered by archived and puts pinned first: one index serves both
DROP INDEX "conversations_owner_activity_idx";

-- CreateIndex
CREATE INDEX "conversations_owner_list_idx" ON "conversations"("owner_id", "archived", "pinned" DESC, "last_message_at" DESC, "id" DESC);

-- CreateIndex (retention finds conversations inactive since a date, across owners)
CREATE INDEX "conversations_last_message_at_idx" ON "conversations"("last_message_at");

-- Full-text search (GET /conversations?q=) with the simple configuration: no stemming and
-- no stop words, so it behaves the same for every language a chat is written in.
CREATE INDEX "conversations_title_search_idx" ON "conversations"
  USING GIN (to_tsvector('simple'::regconfig, coalesce("title", '')));

-- Stored, so ranking a match reads the vector instead of parsing the text again (a common
-- word matches many messages). Not in schema.prisma: no query of the application reads it
-- but the search (raw SQL).
ALTER TABLE "messages" ADD COLUMN "search_vector" tsvector
  GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, "content")) STORED;

-- Only complete messages are searchable: a streaming reply, rewritten by every
-- checkpoint, then costs the GIN index nothing until it is stored.
CREATE INDEX "messages_content_search_idx" ON "messages"
  USING GIN ("search_vector") WHERE "status" = 'complete';
