-- AlterTable
ALTER TABLE "conversations" ADD COLUMN "summary_lease_until" TIMESTAMPTZ(3);

-- AlterTable
ALTER TABLE "messages" ADD COLUMN "context" JSONB;

-- CreateTable
CREATE TABLE "memory_marks" (
    "message_id" UUID NOT NULL,
    "conversation_id" UUID NOT NULL,
    "seq" INTEGER NOT NULL,
    "kind" VARCHAR(10) NOT NULL,
    "content" TEXT NOT NULL DEFAULT '',
    "token_count" INTEGER NOT NULL DEFAULT 0,
    "summarized_count" INTEGER NOT NULL DEFAULT 0,
    "model" VARCHAR(100),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "memory_marks_pkey" PRIMARY KEY ("message_id")
);

-- CreateIndex
CREATE INDEX "memory_marks_conversation_seq_idx" ON "memory_marks"("conversation_id", "seq" DESC);

-- AddForeignKey
ALTER TABLE "memory_marks" ADD CONSTRAINT "memory_marks_message_id_fkey" FOREIGN KEY ("message_id") REFERENCES "messages"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "memory_marks" ADD CONSTRAINT "memory_marks_conversation_id_fkey" FOREIGN KEY ("conversation_id") REFERENCES "conversations"("id") ON DELETE CASCADE ON UPDATE CASCADE;
