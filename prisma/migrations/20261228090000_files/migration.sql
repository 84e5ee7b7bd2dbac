-- Uploaded files (src/files): files (an owner's name for some content), file_blobs (the
-- content, once per owner and sha256, with its type, status and extracted text),
-- file_chunks (the bytes when FILE_STORAGE=postgres) and message_attachments (which files a
-- message carries, read by the orphan sweep).
-- Only new, empty tables and their indexes: nothing existing is rewritten or locked beyond
-- the brief lock the foreign key from message_attachments takes on messages (no scan: the
-- new table has no rows to validate). Plain CREATE INDEX on empty tables is instant.
-- CreateTable
CREATE TABLE "files" (
    "id" UUID NOT NULL,
    "owner_id" VARCHAR(200) NOT NULL,
    "blob_id" UUID NOT NULL,
    "filename" VARCHAR(255) NOT NULL,
    "purpose" VARCHAR(40) NOT NULL DEFAULT 'user_data',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "files_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "file_blobs" (
    "id" UUID NOT NULL,
    "owner_id" VARCHAR(200) NOT NULL,
    "sha256" CHAR(64),
    "bytes" BIGINT NOT NULL DEFAULT 0,
    "mime_type" VARCHAR(150) NOT NULL,
    "kind" VARCHAR(10) NOT NULL,
    "storage" VARCHAR(10) NOT NULL,
    "storage_key" VARCHAR(300),
    "status" VARCHAR(12) NOT NULL,
    "error_code" VARCHAR(60),
    "error_message" TEXT,
    "width" INTEGER,
    "height" INTEGER,
    "text" TEXT,
    "text_tokens" INTEGER,
    "extract_lease_until" TIMESTAMPTZ(3),
    "extract_attempts" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "file_blobs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "file_chunks" (
    "blob_id" UUID NOT NULL,
    "n" INTEGER NOT NULL,
    "data" BYTEA NOT NULL,

    CONSTRAINT "file_chunks_pkey" PRIMARY KEY ("blob_id","n")
);

-- CreateTable
CREATE TABLE "message_attachments" (
    "message_id" UUID NOT NULL,
    "file_id" UUID NOT NULL,
    "position" INTEGER NOT NULL,

    CONSTRAINT "message_attachments_pkey" PRIMARY KEY ("message_id","position")
);

-- CreateIndex
CREATE INDEX "files_owner_list_idx" ON "files"("owner_id", "id" DESC);

-- CreateIndex
CREATE INDEX "files_blob_idx" ON "files"("blob_id");

-- CreateIndex
CREATE INDEX "files_created_idx" ON "files"("created_at");

-- CreateIndex
CREATE UNIQUE INDEX "file_blobs_owner_sha256_key" ON "file_blobs"("owner_id", "sha256");

-- CreateIndex
CREATE INDEX "message_attachments_file_idx" ON "message_attachments"("file_id");

-- AddForeignKey
ALTER TABLE "files" ADD CONSTRAINT "files_blob_id_fkey" FOREIGN KEY ("blob_id") REFERENCES "file_blobs"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "file_chunks" ADD CONSTRAINT "file_chunks_blob_id_fkey" FOREIGN KEY ("blob_id") REFERENCES "file_blobs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "message_attachments" ADD CONSTRAINT "message_attachments_message_id_fkey" FOREIGN KEY ("message_id") REFERENCES "messages"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "message_attachments" ADD CONSTRAINT "message_attachments_file_id_fkey" FOREIGN KEY ("file_id") REFERENCES "files"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- The extraction sweep reads only the blobs still waiting, by lease (partial: Prisma 6
-- cannot declare it).
CREATE INDEX "file_blobs_processing_idx" ON "file_blobs"("extract_lease_until") WHERE "status" = 'processing';
