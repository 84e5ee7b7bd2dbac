import { Injectable } from '@nestjs/common';
import { ExpressionBuilder, sql, Transaction } from 'kysely';

import { Db } from '../database/db';
import { GenerateSql } from '../database/generate-sql';
import type { DB, File } from '../generated/kysely/database';
import type { StoredBlob } from './storage/blob-storage';

/** A file as the API shows it: its row and what its content's blob knows. */
export interface FileRow {
  id: string;
  ownerId: string;
  filename: string;
  purpose: string;
  createdAt: Date;
  blobId: string;
  sha256: string | null;
  bytes: string;
  mimeType: string;
  kind: string;
  status: string;
  errorCode: string | null;
  errorMessage: string | null;
  width: number | null;
  height: number | null;
  textTokens: number | null;
  storage: string;
  storageKey: string | null;
}

/** A file a message may carry: its row and, for a document, the extracted text. */
export interface AttachableFile extends FileRow {
  text: string | null;
}

/** A blob being uploaded, before its hash is known. */
export interface StagedBlob {
  id: string;
  ownerId: string;
  mimeType: string;
  kind: 'image' | 'document';
  storage: 'postgres' | 's3';
}

/** What the end of an upload knows about its bytes. */
export interface UploadedContent {
  sha256: string;
  bytes: number;
  storageKey: string | null;
  width: number | null;
  height: number | null;
}

/** A document blob claimed for extraction. */
export interface ClaimedBlob extends StoredBlob {
  mimeType: string;
  extractAttempts: number;
}

export type FinishOutcome =
  | { kind: 'stored'; fileId: string }
  | { kind: 'deduplicated'; fileId: string }
  | { kind: 'over_quota'; used: number };

const FILE_FIELDS = [
  'f.id',
  'f.ownerId',
  'f.filename',
  'f.purpose',
  'f.createdAt',
  'f.blobId',
  'b.sha256',
  'b.bytes',
  'b.mimeType',
  'b.kind',
  'b.status',
  'b.errorCode',
  'b.errorMessage',
  'b.width',
  'b.height',
  'b.textTokens',
  'b.storage',
  'b.storageKey',
] as const;

/** Uploads of one owner finish, and their files are deleted, one at a time (quota, dedup). */
const lockOwner = (trx: Transaction<DB>, ownerId: string) =>
  sql`select pg_advisory_xact_lock(hashtextextended(${'files:' + ownerId}, 0))`.execute(trx);

/**
 * Whether file `f` is still needed: the hook the orphan sweep and its deletes go by. Today
 * only messages hold files (message_attachments); extend it when something else does.
 */
const unreferenced = ({ not, exists, selectFrom }: ExpressionBuilder<DB & { f: File }, 'f'>) =>
  not(
    exists(
      selectFrom('messageAttachments as ma')
        .select('ma.messageId')
        .whereRef('ma.fileId', '=', 'f.id'),
    ),
  );

@Injectable()
export class FilesRepository {
  constructor(private readonly db: Db) {}

  /** Bytes the owner's content takes, uploads in progress included. */
  async usedBytes(ownerId: string): Promise<number> {
    const row = await this.db
      .selectFrom('fileBlobs')
      .select(sql<string>`coalesce(sum(bytes), 0)`.as('used'))
      .where('ownerId', '=', ownerId)
      .executeTakeFirstOrThrow();
    return Number(row.used);
  }

  async stage(blob: StagedBlob): Promise<void> {
    await this.db
      .insertInto('fileBlobs')
      .values({ ...blob, status: 'uploading' })
      .execute();
  }

  /**
   * Ends an upload: the file row goes to the owner's content of the same hash when there
   * is one (the staged copy is then the caller's to drop), else to the staged blob, now
   * `processing` (documents) or `ready`, unless that takes the owner past `quota`.
   */
  async finishUpload(
    staged: StagedBlob,
    content: UploadedContent,
    file: { id: string; filename: string; purpose: string },
    quota: number,
  ): Promise<FinishOutcome> {
    return this.db.transaction().execute(async (trx) => {
      await lockOwner(trx, staged.ownerId);
      const existing = await trx
        .selectFrom('fileBlobs')
        .select('id')
        .where('ownerId', '=', staged.ownerId)
        .where('sha256', '=', content.sha256)
        .executeTakeFirst();
      const newFile = { ...file, ownerId: staged.ownerId };
      if (existing) {
        await trx
          .insertInto('files')
          .values({ ...newFile, blobId: existing.id })
          .execute();
        return { kind: 'deduplicated', fileId: file.id };
      }
      const used = await trx
        .selectFrom('fileBlobs')
        .select(sql<string>`coalesce(sum(bytes), 0)`.as('used'))
        .where('ownerId', '=', staged.ownerId)
        .where('status', '!=', 'uploading')
        .executeTakeFirstOrThrow();
      if (Number(used.used) + content.bytes > quota)
        return { kind: 'over_quota', used: Number(used.used) };
      await trx
        .updateTable('fileBlobs')
        .set({
          ...content,
          bytes: String(content.bytes),
          status: staged.kind === 'document' ? 'processing' : 'ready',
        })
        .where('id', '=', staged.id)
        .execute();
      await trx
        .insertInto('files')
        .values({ ...newFile, blobId: staged.id })
        .execute();
      return { kind: 'stored', fileId: file.id };
    });
  }

  /** Forgets a staged blob (its bytes are the storage's to drop). */
  async dropStaged(blobId: string): Promise<void> {
    await this.db.deleteFrom('fileBlobs').where('id', '=', blobId).execute();
  }

  async find(ownerId: string, id: string): Promise<FileRow | undefined> {
    return this.db
      .selectFrom('files as f')
      .innerJoin('fileBlobs as b', 'b.id', 'f.blobId')
      .select(FILE_FIELDS)
      .where('f.id', '=', id)
      .where('f.ownerId', '=', ownerId)
      .executeTakeFirst();
  }

  /** The owner's newest readable file of these bytes under this name (an inline file sent again). */
  async findSame(ownerId: string, sha256: string, filename: string): Promise<FileRow | undefined> {
    return this.db
      .selectFrom('files as f')
      .innerJoin('fileBlobs as b', 'b.id', 'f.blobId')
      .select(FILE_FIELDS)
      .where('b.ownerId', '=', ownerId)
      .where('b.sha256', '=', sha256)
      .where('b.status', 'in', ['ready', 'processing'])
      .where('f.ownerId', '=', ownerId)
      .where('f.filename', '=', filename)
      .orderBy('f.createdAt', 'desc')
      .limit(1)
      .executeTakeFirst();
  }

  /** The owner's files among `ids`, with documents' text (a send's attachments). */
  async findAttachable(ownerId: string, ids: string[]): Promise<AttachableFile[]> {
    if (ids.length === 0) return [];
    return this.db
      .selectFrom('files as f')
      .innerJoin('fileBlobs as b', 'b.id', 'f.blobId')
      .select([...FILE_FIELDS, 'b.text'])
      .where('f.id', 'in', ids)
      .where('f.ownerId', '=', ownerId)
      .execute();
  }

  /** The files the messages carry, with documents' text, in each message's order. */
  async findAttachedTo(messageIds: string[]): Promise<(AttachableFile & { messageId: string })[]> {
    if (messageIds.length === 0) return [];
    return this.db
      .selectFrom('messageAttachments as ma')
      .innerJoin('files as f', 'f.id', 'ma.fileId')
      .innerJoin('fileBlobs as b', 'b.id', 'f.blobId')
      .select([...FILE_FIELDS, 'b.text', 'ma.messageId'])
      .where('ma.messageId', 'in', messageIds)
      .orderBy('ma.messageId')
      .orderBy('ma.position')
      .execute();
  }

  /** Whether the message carries an image. */
  async carriesImage(messageId: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('messageAttachments as ma')
      .innerJoin('files as f', 'f.id', 'ma.fileId')
      .innerJoin('fileBlobs as b', 'b.id', 'f.blobId')
      .select('ma.position')
      .where('ma.messageId', '=', messageId)
      .where('b.kind', '=', 'image')
      .executeTakeFirst();
    return row !== undefined;
  }

  /** The owner's files, newest first (ids are time-ordered), after `beforeId` when paging. */
  async list(ownerId: string, limit: number, beforeId?: string): Promise<FileRow[]> {
    let query = this.db
      .selectFrom('files as f')
      .innerJoin('fileBlobs as b', 'b.id', 'f.blobId')
      .select(FILE_FIELDS)
      .where('f.ownerId', '=', ownerId);
    if (beforeId) query = query.where('f.id', '<', beforeId);
    return query.orderBy('f.id', 'desc').limit(limit).execute();
  }

  /**
   * Deletes a file, and its blob when no other file of the owner shares it (returned, so
   * its bytes can be dropped; file_chunks go with it). `onlyOrphan`: only if no message
   * references the file (the sweep). Undefined when there was no such file.
   */
  async delete(
    ownerId: string,
    id: string,
    onlyOrphan = false,
  ): Promise<{ blob: StoredBlob | null } | undefined> {
    return this.db.transaction().execute(async (trx) => {
      await lockOwner(trx, ownerId);
      let query = trx
        .deleteFrom('files as f')
        .where('f.id', '=', id)
        .where('f.ownerId', '=', ownerId);
      if (onlyOrphan) query = query.where(unreferenced);
      const file = await query.returning('f.blobId').executeTakeFirst();
      if (!file) return undefined;
      const blob = await trx
        .deleteFrom('fileBlobs as b')
        .where('b.id', '=', file.blobId)
        .where(({ not, exists, selectFrom }) =>
          not(exists(selectFrom('files').select('id').where('blobId', '=', file.blobId))),
        )
        .returning(['b.id', 'b.storage', 'b.storageKey'])
        .executeTakeFirst();
      return { blob: blob ?? null };
    });
  }

  /** Files older than `ttlSeconds` that no message references: the orphan sweep's batch. */
  @GenerateSql({ params: ['86400', 100] })
  orphansQuery(ttlSeconds: number | string, limit: number) {
    return this.db
      .selectFrom('files as f')
      .select(['f.ownerId', 'f.id'])
      .where('f.createdAt', '<', sql<Date>`now() - ${ttlSeconds} * interval '1 second'`)
      .where(unreferenced)
      .orderBy('f.createdAt')
      .limit(limit);
  }

  async findOrphans(ttlSeconds: number, limit: number): Promise<{ ownerId: string; id: string }[]> {
    return this.orphansQuery(ttlSeconds, limit).execute();
  }

  /** Uploads a crashed process left half-written, older than `olderThanMs`. */
  async dropAbandonedUploads(olderThanMs: number): Promise<StoredBlob[]> {
    return this.db
      .deleteFrom('fileBlobs')
      .where('status', '=', 'uploading')
      .where('createdAt', '<', sql<Date>`now() - ${olderThanMs} * interval '1 millisecond'`)
      .returning(['id', 'storage', 'storageKey'])
      .execute();
  }

  /**
   * Takes the oldest document waiting for extraction whose lease is free or lapsed (its
   * process died), for `leaseMs`. SKIP LOCKED: replicas never take the same one.
   */
  @GenerateSql({ params: [60000, 3] })
  claimQuery(leaseMs: number, maxAttempts: number) {
    const next = this.db
      .selectFrom('fileBlobs')
      .select('id')
      .where('status', '=', 'processing')
      .where((eb) =>
        eb.or([
          eb('extractLeaseUntil', 'is', null),
          eb('extractLeaseUntil', '<', sql<Date>`now()`),
        ]),
      )
      .where('extractAttempts', '<', maxAttempts)
      .orderBy('createdAt')
      .limit(1)
      .forUpdate()
      .skipLocked();
    return this.db
      .updateTable('fileBlobs')
      .set((eb) => ({
        extractLeaseUntil: sql<Date>`now() + ${leaseMs} * interval '1 millisecond'`,
        extractAttempts: eb('extractAttempts', '+', 1),
      }))
      .where('id', '=', (eb) => eb.selectFrom(next.as('next')).select('next.id'))
      .returning(['id', 'storage', 'storageKey', 'mimeType', 'extractAttempts']);
  }

  async claimExtraction(leaseMs: number, maxAttempts: number): Promise<ClaimedBlob | undefined> {
    return this.claimQuery(leaseMs, maxAttempts).executeTakeFirst();
  }

  /** Documents whose every attempt died with its process: failed for good. */
  async failAbandonedExtractions(maxAttempts: number): Promise<number> {
    const result = await this.db
      .updateTable('fileBlobs')
      .set({
        status: 'failed',
        errorCode: 'extract_interrupted',
        errorMessage: `Extraction was interrupted ${maxAttempts} times (the process stopped); upload the file again`,
        extractLeaseUntil: null,
      })
      .where('status', '=', 'processing')
      .where('extractAttempts', '>=', maxAttempts)
      .where('extractLeaseUntil', '<', sql<Date>`now()`)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /** Stores an extraction's outcome, while the blob is still processing. */
  async finishExtraction(
    blobId: string,
    outcome: { text: string; textTokens: number } | { errorCode: string; errorMessage: string },
  ): Promise<void> {
    await this.db
      .updateTable('fileBlobs')
      .set({
        ...outcome,
        status: 'text' in outcome ? 'ready' : 'failed',
        extractLeaseUntil: null,
      })
      .where('id', '=', blobId)
      .where('status', '=', 'processing')
      .execute();
  }

  /** Hands a claimed extraction back (the process is stopping): the next sweep takes it. */
  async releaseExtraction(blobId: string): Promise<void> {
    await this.db
      .updateTable('fileBlobs')
      .set((eb) => ({ extractLeaseUntil: null, extractAttempts: eb('extractAttempts', '-', 1) }))
      .where('id', '=', blobId)
      .where('status', '=', 'processing')
      .execute();
  }
}
