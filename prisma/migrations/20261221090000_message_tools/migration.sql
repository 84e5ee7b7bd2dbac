-- Tool calling (docs/tools.md): a reply's tool calls, the tool messages that answer them,
-- a reply that waits for the client's results, and a conversation's default tools.
-- New enum values and nullable columns (server_tools has a constant default, stored in the
-- catalogue since PostgreSQL 11): no table is rewritten, each lock is brief.

-- AlterEnum
ALTER TYPE "MessageRole" ADD VALUE 'tool';

-- AlterEnum
ALTER TYPE "MessageStatus" ADD VALUE 'requires_action';

-- AlterTable
ALTER TABLE "conversations" ADD COLUMN "server_tools" TEXT[] NOT NULL DEFAULT ARRAY[]::TEXT[],
ADD COLUMN "tools" JSONB;

-- AlterTable
ALTER TABLE "messages" ADD COLUMN "tool_call_id" VARCHAR(200),
ADD COLUMN "tool_calls" JSONB;
