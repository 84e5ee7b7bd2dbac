import { Readable } from 'node:stream';

import { CHUNK_BYTES } from './storage/blob-storage';
import { readHead, UploadPipeline } from './upload-pipeline';

function from(parts: Buffer[]): AsyncIterator<Buffer> {
  return Readable.from(parts)[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
}

async function run(
  parts: Buffer[],
  limits = { maxBytes: 10 ** 9, quotaLeft: 10 ** 9, quota: 10 ** 9 },
  text = false,
) {
  const source = from(parts);
  const { head, spill } = await readHead(source, CHUNK_BYTES);
  const pipeline = new UploadPipeline(limits, text);
  const pieces: Buffer[] = [];
  for await (const piece of pipeline.pieces(head, spill, source)) pieces.push(piece);
  return { pieces, pipeline };
}

describe(UploadPipeline.name, () => {
  it('should cut the stream into CHUNK_BYTES pieces, in order, hashing all of it', async () => {
    const bytes = Buffer.alloc(CHUNK_BYTES * 2 + 1000);
    for (let i = 0; i < bytes.length; i++) bytes[i] = i % 251;
    const parts = [];
    for (let at = 0; at < bytes.length; at += 65_000) parts.push(bytes.subarray(at, at + 65_000));
    const { pieces, pipeline } = await run(parts);
    expect(pieces.map((p) => p.length)).toEqual([CHUNK_BYTES, CHUNK_BYTES, 1000]);
    expect(Buffer.concat(pieces).equals(bytes)).toBe(true);
    expect(pipeline.bytes).toBe(bytes.length);
  });

  it('should stop at the size limit and at the quota', async () => {
    const big = [Buffer.alloc(CHUNK_BYTES), Buffer.alloc(CHUNK_BYTES)];
    await expect(
      run(big, { maxBytes: CHUNK_BYTES + 1, quotaLeft: 10 ** 9, quota: 10 ** 9 }),
    ).rejects.toMatchObject({
      code: 'file_too_large',
    });
    await expect(
      run(big, { maxBytes: 10 ** 9, quotaLeft: CHUNK_BYTES, quota: 2 * CHUNK_BYTES }),
    ).rejects.toMatchObject({
      code: 'file_quota_exceeded',
    });
  });

  it('should refuse text that turns out not to be UTF-8, even at its very end', async () => {
    const text = Buffer.from('é'.repeat(CHUNK_BYTES));
    await expect(run([text], undefined, true)).resolves.toBeDefined();
    await expect(run([text, Buffer.from([0xc3])], undefined, true)).rejects.toMatchObject({
      code: 'file_type_not_allowed',
    });
  });
});
