-- Request counts of the rate limiter when RATE_LIMIT_STORE=postgres, shared by every
-- replica. Counters, not records: UNLOGGED (no WAL, emptied if PostgreSQL crashes).
CREATE UNLOGGED TABLE "rate_limits" (
    "key" VARCHAR(300) NOT NULL,
    "hits" INTEGER NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "blocked_until" TIMESTAMPTZ(3),

    CONSTRAINT "rate_limits_pkey" PRIMARY KEY ("key")
);
