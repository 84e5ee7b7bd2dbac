-- A streamed reply's event boundaries (see src/chat/stream-marks.ts), empty when unknown.
-- A constant default is kept in the catalogue: no row is rewritten, whatever the size of
-- the table.
-- AlterTable
ALTER TABLE "messages" ADD COLUMN "stream_marks" INTEGER[] NOT NULL DEFAULT ARRAY[]::INTEGER[];
