-- CreateTable
-- UNLOGGED, written by hand (the Prisma schema cannot say it): a cache needs no WAL, is not
-- replicated, and is emptied after a crash, which only costs misses.
CREATE UNLOGGED TABLE "response_cache" (
    "key" CHAR(64) NOT NULL,
    "reply" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "response_cache_pkey" PRIMARY KEY ("key")
);

-- CreateIndex
CREATE INDEX "response_cache_expires_idx" ON "response_cache"("expires_at");

-- CreateIndex
CREATE INDEX "response_cache_created_idx" ON "response_cache"("created_at");
