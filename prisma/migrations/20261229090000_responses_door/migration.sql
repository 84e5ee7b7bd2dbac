-- The Responses door (src/responses): conversation metadata, and the conversation a keyed
-- POST /v1/responses created (so that its retry finds it again).
-- metadata is nullable without a default: only the catalogue changes, no row is rewritten.
-- response_keys is a new, empty table: its index is built on no rows. Its foreign key takes
-- a brief SHARE ROW EXCLUSIVE lock on conversations and scans only the empty new table.
-- AlterTable
ALTER TABLE "conversations" ADD COLUMN     "metadata" JSONB;

-- CreateTable
CREATE TABLE "response_keys" (
    "owner_id" VARCHAR(200) NOT NULL,
    "key" VARCHAR(200) NOT NULL,
    "conversation_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "response_keys_pkey" PRIMARY KEY ("owner_id","key")
);

-- CreateIndex
CREATE INDEX "response_keys_conversation_idx" ON "response_keys"("conversation_id");

-- AddForeignKey
ALTER TABLE "response_keys" ADD CONSTRAINT "response_keys_conversation_id_fkey" FOREIGN KEY ("conversation_id") REFERENCES "conversations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

