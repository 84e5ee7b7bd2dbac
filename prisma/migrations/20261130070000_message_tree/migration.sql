-- A conversation becomes a tree of messages with a current path (root to current leaf).
-- Written by hand: the composite foreign key keeps a parent inside its own conversation,
-- which the Prisma schema cannot declare next to the conversation relation.

-- AlterTable
ALTER TABLE "messages" ADD COLUMN "parent_id" UUID;

-- AlterTable
ALTER TABLE "conversations" ADD COLUMN "current_leaf_id" UUID;

-- Existing conversations become one linear path: the parent of each message is the
-- message before it in its conversation, the first has none
UPDATE "messages" AS m
SET "parent_id" = ordered."previous_id"
FROM (
    SELECT "id", lag("id") OVER (PARTITION BY "conversation_id" ORDER BY "seq") AS "previous_id"
    FROM "messages"
) AS ordered
WHERE m."id" = ordered."id" AND ordered."previous_id" IS NOT NULL;

-- The current leaf of each conversation is its last message
UPDATE "conversations" AS c
SET "current_leaf_id" = last."id"
FROM (
    SELECT DISTINCT ON ("conversation_id") "conversation_id", "id"
    FROM "messages"
    ORDER BY "conversation_id", "seq" DESC
) AS last
WHERE c."id" = last."conversation_id";

-- CreateIndex
-- The target of the parent key below
CREATE UNIQUE INDEX "messages_conversation_id_key" ON "messages"("conversation_id", "id");

-- CreateIndex
-- Children and siblings of a message in creation order, and the cascade of the parent key.
-- The parent leads, so a lookup by parent alone has this index and no other to choose
CREATE INDEX "messages_parent_idx" ON "messages"("parent_id", "conversation_id", "seq");

-- AddForeignKey
ALTER TABLE "messages" ADD CONSTRAINT "messages_parent_fkey"
    FOREIGN KEY ("conversation_id", "parent_id") REFERENCES "messages"("conversation_id", "id")
    ON DELETE CASCADE ON UPDATE NO ACTION;
