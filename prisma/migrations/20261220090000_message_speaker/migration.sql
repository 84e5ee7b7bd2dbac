-- Who spoke a user message, and its free-form metadata (src/chat/dto/speaker.ts).
-- Both nullable without a default: only the catalogue changes, no row is rewritten.
-- AlterTable
ALTER TABLE "messages" ADD COLUMN "metadata" JSONB,
ADD COLUMN "speaker_name" VARCHAR(64);
