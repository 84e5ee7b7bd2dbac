import { createHash } from 'node:crypto';

import { AppException } from '../common/errors/app.exception';
import { TextChecker } from './content-type';
import { tooLarge } from './multipart';
import { CHUNK_BYTES } from './storage/blob-storage';

export interface PipelineLimits {
  maxBytes: number;
  /** Bytes the owner may still add. */
  quotaLeft: number;
  quota: number;
}

export function quotaExceeded(quota: number, used: number, adding: number): AppException {
  const what =
    adding > 0
      ? `This file (${adding} bytes so far) would take your files past FILE_QUOTA_BYTES (${quota} bytes)`
      : `Your files already fill FILE_QUOTA_BYTES (${quota} bytes)`;
  return new AppException(
    'file_quota_exceeded',
    `${what}: ${used} bytes are in use; delete some files first`,
  );
}

/** Reads up to `bytes` from the start of a stream; the rest stays for `rest`. */
export async function readHead(
  source: AsyncIterator<Buffer>,
  bytes: number,
): Promise<{ head: Buffer; spill: Buffer | null; ended: boolean }> {
  const parts: Buffer[] = [];
  let length = 0;
  while (length < bytes) {
    const next = await source.next();
    if (next.done) return { head: Buffer.concat(parts), spill: null, ended: true };
    parts.push(next.value);
    length += next.value.length;
  }
  const all = Buffer.concat(parts);
  return { head: all.subarray(0, bytes), spill: all.subarray(bytes), ended: false };
}

/**
 * The bytes of an upload as storage takes them: pieces of CHUNK_BYTES, hashed and counted
 * as they pass, refused the moment they pass FILE_MAX_BYTES or the quota, and for a text
 * type checked to stay UTF-8 without NUL. Holds one piece at a time.
 */
export class UploadPipeline {
  private readonly hash = createHash('sha256');
  private readonly textChecker: TextChecker | null;
  bytes = 0;

  constructor(
    private readonly limits: PipelineLimits,
    text: boolean,
  ) {
    this.textChecker = text ? new TextChecker() : null;
  }

  get sha256(): string {
    return this.hash.digest('hex');
  }

  async *pieces(
    head: Buffer,
    spill: Buffer | null,
    rest: AsyncIterator<Buffer>,
  ): AsyncGenerator<Buffer> {
    let pending = spill && spill.length > 0 ? [spill] : [];
    let pendingBytes = pending[0]?.length ?? 0;
    if (head.length > 0) yield this.pass(head, false);
    for (;;) {
      const next = await rest.next();
      if (!next.done) {
        pending.push(next.value);
        pendingBytes += next.value.length;
      }
      while (pendingBytes >= CHUNK_BYTES || (next.done && pendingBytes > 0)) {
        const all = Buffer.concat(pending);
        const piece = all.subarray(0, CHUNK_BYTES);
        const left = all.subarray(piece.length);
        pending = left.length > 0 ? [left] : [];
        pendingBytes = left.length;
        yield this.pass(piece, next.done === true && pendingBytes === 0);
      }
      if (next.done) {
        if (this.textChecker && !this.textChecker.push(new Uint8Array(0), true)) throw notText();
        return;
      }
    }
  }

  private pass(piece: Buffer, last: boolean): Buffer {
    this.bytes += piece.length;
    if (this.bytes > this.limits.maxBytes) throw tooLarge(this.limits.maxBytes);
    if (this.bytes > this.limits.quotaLeft)
      throw quotaExceeded(this.limits.quota, this.limits.quota - this.limits.quotaLeft, this.bytes);
    if (this.textChecker && !this.textChecker.push(piece, last)) throw notText();
    this.hash.update(piece);
    return piece;
  }
}

function notText(): AppException {
  return new AppException(
    'file_type_not_allowed',
    'The file starts as text but is not valid UTF-8 text (or holds NUL bytes); send text as UTF-8, or a file of an allowed type',
  );
}
