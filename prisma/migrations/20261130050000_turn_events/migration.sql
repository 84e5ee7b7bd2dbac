-- A running turn's events, published while a process other than the one running it
-- follows the turn (resume on any replica). Short-lived relay rows: UNLOGGED, no WAL.
CREATE UNLOGGED TABLE "turn_events" (
    "turn_id" UUID NOT NULL,
    "idx" INTEGER NOT NULL,
    "event" VARCHAR(40) NOT NULL,
    "event_id" BIGINT NOT NULL,
    "data" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "turn_events_pkey" PRIMARY KEY ("turn_id", "idx")
);
