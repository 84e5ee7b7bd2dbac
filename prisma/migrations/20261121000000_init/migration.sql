-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateEnum
CREATE TYPE "MessageRole" AS ENUM ('system', 'user', 'assistant');

-- CreateEnum
CREATE TYPE "MessageStatus" AS ENUM ('complete', 'streaming', 'failed', 'cancelled');

-- CreateTable
CREATE TABLE "conversations" (
    "id" UUID NOT NULL,
    "owner_id" VARCHAR(200) NOT NULL DEFAULT 'local',
    "title" VARCHAR(200),
    "system_prompt" TEXT,
    "model" VARCHAR(100),
    "temperature" DOUBLE PRECISION,
    "top_p" DOUBLE PRECISION,
    "max_tokens" INTEGER,
    "seed" INTEGER,
    "next_seq" INTEGER NOT NULL DEFAULT 0,
    "active_turn_id" UUID,
    "active_turn_expires_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_message_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "conversations_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "messages" (
    "id" UUID NOT NULL,
    "conversation_id" UUID NOT NULL,
    "seq" INTEGER NOT NULL,
    "role" "MessageRole" NOT NULL,
    "content" TEXT NOT NULL,
    "reasoning" TEXT,
    "status" "MessageStatus" NOT NULL DEFAULT 'complete',
    "token_count" INTEGER NOT NULL DEFAULT 0,
    "model" VARCHAR(100),
    "upstream_model" VARCHAR(200),
    "prompt_tokens" INTEGER,
    "completion_tokens" INTEGER,
    "usage_estimated" BOOLEAN NOT NULL DEFAULT false,
    "latency_ms" INTEGER,
    "ttft_ms" INTEGER,
    "finish_reason" VARCHAR(50),
    "error_code" VARCHAR(100),
    "error_message" TEXT,
    "idempotency_key" VARCHAR(200),
    "request_hash" VARCHAR(64),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "completed_at" TIMESTAMPTZ(3),

    CONSTRAINT "messages_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "conversations_owner_activity_idx" ON "conversations"("owner_id", "last_message_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "conversations_active_turn_idx" ON "conversations"("active_turn_expires_at");

-- CreateIndex
CREATE UNIQUE INDEX "messages_conversation_seq_key" ON "messages"("conversation_id", "seq");

-- CreateIndex
CREATE UNIQUE INDEX "messages_conversation_idempotency_key" ON "messages"("conversation_id", "idempotency_key");

-- AddForeignKey
ALTER TABLE "messages" ADD CONSTRAINT "messages_conversation_id_fkey" FOREIGN KEY ("conversation_id") REFERENCES "conversations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

