-- CreateTable
CREATE TABLE "event_listeners" (
    "process_id" UUID NOT NULL,
    "owner_id" VARCHAR(200) NOT NULL,

    CONSTRAINT "event_listeners_pkey" PRIMARY KEY ("process_id","owner_id")
);

-- AddForeignKey
ALTER TABLE "event_listeners" ADD CONSTRAINT "event_listeners_process_id_fkey" FOREIGN KEY ("process_id") REFERENCES "processes"("id") ON DELETE CASCADE ON UPDATE CASCADE;
