-- Microseconds for a message's times: a user message and its reply are stored by one
-- statement, and their times must differ and keep their order. Raising a timestamptz's
-- precision rewrites neither the table nor its indexes (PostgreSQL relabels the column);
-- it takes the table's lock only for that catalogue change.
-- AlterTable
ALTER TABLE "messages" ALTER COLUMN "created_at" SET DATA TYPE TIMESTAMPTZ(6),
ALTER COLUMN "completed_at" SET DATA TYPE TIMESTAMPTZ(6);

-- A user message is complete when it is stored. One UPDATE over the user messages
-- (about half the table): fine at the sizes this service has met so far, but on a very
-- large table run it in batches by id beforehand, after which this one finds nothing.
UPDATE "messages" SET "completed_at" = "created_at"
WHERE "role" = 'user' AND "completed_at" IS NULL;
