import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';

import { Injectable, Logger } from '@nestjs/common';
import { isUUID } from 'class-validator';

import { AppException } from '../common/errors/app.exception';
import { newId } from '../common/ids';
import { sleep } from '../common/sleep';
import { AppConfig } from '../config/app-config';
import { DEFAULT_ALLOWED_TYPES, isAllowedType, SniffedType, sniffType } from './content-type';
import { FileJobs } from './file-jobs.service';
import { imageDimensions } from './image-tokens';
import type { FileRef } from './file-ref';
import { AttachableFile, FileRow, FilesRepository, StagedBlob } from './files.repository';
import type { MultipartUpload } from './multipart';
import { StoredBlob } from './storage/blob-storage';
import { BlobStores } from './storage/blob-stores';
import { CHUNK_BYTES } from './storage/blob-storage';
import { quotaExceeded, readHead, UploadPipeline } from './upload-pipeline';

export class FileNotFoundException extends AppException {
  constructor(id: string) {
    super('file_not_found', `File ${id} does not exist; list yours with GET /api/v1/files`);
  }
}

/** The largest image a message may carry (OpenAI's limit): it is read whole, as base64. */
export const ATTACHED_IMAGE_MAX_BYTES = 20 * 1024 * 1024;

/** OpenAI's purposes; ours are stored as given. */
export const PURPOSES = ['assistants', 'batch', 'fine-tune', 'vision', 'user_data', 'evals'];

/**
 * Uploads, lists, reads and deletes an owner's files. Bytes stream from the request to
 * storage (hashed, sniffed and checked on the way) and back; content is stored once per
 * owner and hash; documents are handed to FileJobs for their text.
 */
@Injectable()
export class FilesService {
  private readonly logger = new Logger(FilesService.name);
  private readonly allowed: string[];

  constructor(
    private readonly files: FilesRepository,
    private readonly stores: BlobStores,
    private readonly jobs: FileJobs,
    private readonly config: AppConfig,
  ) {
    const listed = config.get('FILE_ALLOWED_TYPES');
    this.allowed = listed ? listed.split(',').map((type) => type.trim()) : DEFAULT_ALLOWED_TYPES;
  }

  get maxBytes(): number {
    return this.config.get('FILE_MAX_BYTES');
  }

  async upload(ownerId: string, upload: MultipartUpload): Promise<FileRow> {
    const quota = this.config.get('FILE_QUOTA_BYTES');
    const used = await this.files.usedBytes(ownerId);
    if (used >= quota) throw quotaExceeded(quota, used, 0);
    const source = upload.stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    const { head, spill } = await readHead(source, CHUNK_BYTES);
    const type = await this.typeOf(head, upload.filename);
    const staged: StagedBlob = {
      id: newId(),
      ownerId,
      mimeType: type.mimeType,
      kind: type.kind,
      storage: this.stores.current.kind,
    };
    const limits = { maxBytes: this.config.get('FILE_MAX_BYTES'), quotaLeft: quota - used, quota };
    const pipeline = new UploadPipeline(limits, type.text);
    await this.files.stage(staged);
    let storageKey: string | null = null;
    try {
      storageKey = await this.stores.current.write(staged.id, pipeline.pieces(head, spill, source));
      const fields = await upload.fields;
      const purpose = this.purposeOf(fields.purpose);
      const dimensions = type.kind === 'image' ? imageDimensions(head) : null;
      const content = { sha256: pipeline.sha256, bytes: pipeline.bytes, storageKey, ...dimensions };
      const file = { id: newId(), filename: upload.filename, purpose };
      const outcome = await this.files.finishUpload(
        staged,
        { width: null, height: null, ...content },
        file,
        quota,
      );
      if (outcome.kind === 'over_quota') throw quotaExceeded(quota, outcome.used, pipeline.bytes);
      if (outcome.kind === 'deduplicated') await this.drop({ ...staged, storageKey });
      else if (type.kind === 'document') this.jobs.extractSoon();
      return this.get(ownerId, outcome.fileId);
    } catch (error) {
      await this.drop({ ...staged, storageKey });
      throw error;
    }
  }

  /**
   * A file of these bytes under this name: the owner's existing one, else uploaded now
   * (`created` says which). Bytes sent inline again (a retried request) name the same file.
   */
  async storeInline(
    ownerId: string,
    bytes: Buffer,
    filename: string,
    purpose: string,
  ): Promise<{ file: FileRow; created: boolean }> {
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const same = await this.files.findSame(ownerId, sha256, filename);
    if (same) return { file: same, created: false };
    const stream = Readable.from([bytes]);
    const file = await this.upload(ownerId, {
      filename,
      stream,
      fields: Promise.resolve({ purpose }),
    });
    return { file, created: true };
  }

  /**
   * The files message parts name, as the owner's file ids in order: an inline one (a data
   * URL) is stored as a file first (the same bytes and name sent again reuse it, so a keyed
   * retry hashes as the first request did), and a new document's text is waited for (up to
   * FILE_EXTRACT_TIMEOUT_MS and a little). `stored` lists the files made here, for a door
   * to delete when what they were sent with is refused; on a failure here none are left.
   */
  async fromRefs(ownerId: string, refs: FileRef[]): Promise<{ ids: string[]; stored: string[] }> {
    const ids: string[] = [];
    const stored: string[] = [];
    const inline: string[] = [];
    try {
      for (const ref of refs) {
        // Not a UUID: a file nobody has (404, as OpenAI answers for ids of its own).
        if (ref.kind === 'id' && !isUUID(ref.fileId, 'all'))
          throw new FileNotFoundException(ref.fileId);
        if (ref.kind === 'id') {
          ids.push(ref.fileId);
          continue;
        }
        const purpose = ref.mimeType.startsWith('image/') ? 'vision' : 'user_data';
        const bytes = Buffer.from(ref.data, 'base64');
        const { file, created } = await this.storeInline(ownerId, bytes, ref.filename, purpose);
        if (created) stored.push(file.id);
        inline.push(file.id);
        ids.push(file.id);
      }
      await this.untilRead(ownerId, inline);
    } catch (error) {
      await this.deleteAll(ownerId, stored);
      throw error;
    }
    return { ids, stored };
  }

  /** Deletes these files of the owner, as far as it can (a refused request's inline files). */
  async deleteAll(ownerId: string, ids: string[]): Promise<void> {
    await Promise.allSettled(ids.map((id) => this.delete(ownerId, id)));
  }

  /** Waits (up to FILE_EXTRACT_TIMEOUT_MS and a little) until these files are read. */
  private async untilRead(ownerId: string, ids: string[]): Promise<void> {
    const deadline = Date.now() + this.config.get('FILE_EXTRACT_TIMEOUT_MS') + 5_000;
    for (const id of ids) {
      while ((await this.get(ownerId, id)).status === 'processing' && Date.now() < deadline)
        await sleep(100);
    }
  }

  async get(ownerId: string, id: string): Promise<FileRow> {
    const file = await this.files.find(ownerId, id);
    if (!file) throw new FileNotFoundException(id);
    return file;
  }

  /**
   * The files a message carries, in the order given: each the owner's (else 404, as for an
   * id that never existed), each usable (a document still being read: 409; one that could
   * not be read: 422 with its error; an image over ATTACHED_IMAGE_MAX_BYTES: 422).
   */
  async forMessage(ownerId: string, ids: string[]): Promise<AttachableFile[]> {
    const found = new Map(
      (await this.files.findAttachable(ownerId, [...new Set(ids)])).map((f) => [f.id, f]),
    );
    return ids.map((id) => {
      const file = found.get(id);
      if (!file) throw new FileNotFoundException(id);
      if (file.status === 'processing' || file.status === 'uploading')
        throw new AppException(
          'file_not_ready',
          `File ${id} (${file.filename}) is still being read; send again when GET /api/v1/files/${id} says status "ready"`,
        );
      if (file.status === 'failed')
        throw new AppException(
          'file_unreadable',
          `File ${id} (${file.filename}) could not be read (${file.errorCode ?? 'extract_failed'}: ${file.errorMessage ?? 'no details'}); upload a readable copy`,
        );
      if (file.kind === 'image' && Number(file.bytes) > ATTACHED_IMAGE_MAX_BYTES)
        throw new AppException(
          'attachment_too_large',
          `Image ${id} (${file.filename}) has ${file.bytes} bytes; a message may carry images of at most ${ATTACHED_IMAGE_MAX_BYTES} bytes`,
        );
      return file;
    });
  }

  /** The files each message carries, in order (messages without any are absent). */
  async attachedTo(messageIds: string[]): Promise<Map<string, AttachableFile[]>> {
    const byMessage = new Map<string, AttachableFile[]>();
    for (const { messageId, ...file } of await this.files.findAttachedTo(messageIds)) {
      const files = byMessage.get(messageId) ?? [];
      files.push(file);
      byMessage.set(messageId, files);
    }
    return byMessage;
  }

  async hasImages(messageId: string): Promise<boolean> {
    return this.files.carriesImage(messageId);
  }

  /** A stored file's bytes, whole (an attached image, bounded by forMessage). */
  async bytesOf(file: FileRow): Promise<Buffer> {
    const blob = { id: file.blobId, storage: file.storage, storageKey: file.storageKey };
    return this.stores.of(blob).readAll(blob);
  }

  async list(ownerId: string, limit: number, beforeId?: string): Promise<FileRow[]> {
    return this.files.list(ownerId, limit, beforeId);
  }

  /** The file and its bytes as a stream (read as the client reads). */
  async open(ownerId: string, id: string): Promise<{ file: FileRow; content: Readable }> {
    const file = await this.get(ownerId, id);
    const blob = { id: file.blobId, storage: file.storage, storageKey: file.storageKey };
    return { file, content: this.stores.of(blob).read(blob) };
  }

  async delete(ownerId: string, id: string): Promise<void> {
    const deleted = await this.files.delete(ownerId, id);
    if (!deleted) throw new FileNotFoundException(id);
    if (deleted.blob) await this.dropBytes(deleted.blob);
  }

  /** Deletes those of these files no message references any more (see FileJobs.deleteOrphans). */
  deleteOrphans(files: { ownerId: string; id: string }[]): Promise<number> {
    return this.jobs.deleteOrphans(files);
  }

  /** Deletes files older than `seconds` no message references (retention's horizon). */
  deleteOrphansOlderThan(seconds: number, batches: number): Promise<number> {
    return this.jobs.deleteOrphansOlderThan(seconds, batches);
  }

  private async typeOf(head: Buffer, filename: string): Promise<SniffedType> {
    const type = await sniffType(head, filename);
    if (!type)
      throw new AppException(
        'file_type_not_allowed',
        `The file is binary of a type this service does not recognise; allowed: ${this.allowed.join(', ')}`,
      );
    if (!isAllowedType(type.mimeType, this.allowed))
      throw new AppException(
        'file_type_not_allowed',
        `The file is ${type.mimeType} (from its content), which FILE_ALLOWED_TYPES does not allow; allowed: ${this.allowed.join(', ')}`,
      );
    return type;
  }

  private purposeOf(purpose: string | undefined): string {
    if (purpose === undefined || purpose === '') return 'user_data';
    if (!PURPOSES.includes(purpose))
      throw new AppException(
        'invalid_upload',
        `purpose must be one of ${PURPOSES.join(', ')} (got ${purpose.slice(0, 40)})`,
      );
    return purpose;
  }

  /** Forgets a staged upload: its row (file_chunks go with it) and its bytes elsewhere. */
  private async drop(blob: StoredBlob): Promise<void> {
    try {
      await this.files.dropStaged(blob.id);
      if (blob.storage !== 'postgres') await this.dropBytes(blob);
    } catch (error) {
      // The abandoned-upload sweep removes what is left.
      this.logger.warn({ err: error, blobId: blob.id }, 'could not drop a refused upload');
    }
  }

  private async dropBytes(blob: StoredBlob): Promise<void> {
    if (blob.storage === 'postgres') return;
    try {
      await this.stores.of(blob).delete(blob);
    } catch (error) {
      this.logger.warn({ err: error, blobId: blob.id }, 'could not delete a blob from S3');
    }
  }
}
