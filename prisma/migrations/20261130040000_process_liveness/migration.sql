-- Claims lapse when the process holding them stops beating, not after a TTL: a crashed
-- process's conversations are free again within seconds (PROCESS_DEAD_AFTER_MS).
CREATE TABLE "processes" (
    "id" UUID NOT NULL,
    "host" VARCHAR(200) NOT NULL,
    "pid" INTEGER NOT NULL,
    "started_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "heartbeat_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "processes_pkey" PRIMARY KEY ("id")
);

ALTER TABLE "conversations" ADD COLUMN "active_process_id" UUID;

-- Claims taken under the old TTL rule belong to no process: the first sweep frees them.
DROP INDEX "conversations_active_turn_idx";
ALTER TABLE "conversations" DROP COLUMN "active_turn_expires_at";

-- The running claims only: the sweep and the per-owner generation limit read it.
CREATE INDEX "conversations_active_owner_idx" ON "conversations"("owner_id") WHERE "active_turn_id" IS NOT NULL;

ALTER TABLE "messages" ADD COLUMN "cancel_requested" BOOLEAN NOT NULL DEFAULT false;
