-- Checkpoints of running replies as appended pieces (see TurnCheckpoint in schema.prisma).
-- A new, empty table: nothing is rewritten or locked beyond its own creation.
CREATE TABLE "turn_checkpoints" (
    "turn_id" UUID NOT NULL,
    "idx" INTEGER NOT NULL,
    "content" TEXT NOT NULL,
    "reasoning" TEXT NOT NULL,

    CONSTRAINT "turn_checkpoints_pkey" PRIMARY KEY ("turn_id","idx")
);
