import { Readable } from 'node:stream';

import { extractInWorker } from '../src/files/extraction/document-extractor';

/** `total` bytes of text, a piece at a time. */
function text(total: number, piece = 1024 * 1024): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= total) return this.push(null);
      const size = Math.min(piece, total - sent);
      sent += size;
      this.push(Buffer.alloc(size, 'word '));
    },
  });
}

const signal = new AbortController().signal;

describe(extractInWorker.name, () => {
  it('should end a document that needs more heap than FILE_EXTRACT_MEMORY_MB in a failure, and go on', async () => {
    const before = process.memoryUsage().heapUsed;
    const outcome = await extractInWorker(
      'text/plain',
      text(64 * 1024 * 1024),
      { timeoutMs: 60_000, memoryMb: 16, maxChars: 10 ** 9 },
      signal,
    );
    expect(outcome).toMatchObject({ ok: false, code: 'extract_out_of_memory' });
    // The bomb went off in the worker's heap, not here.
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(32 * 1024 * 1024);
    const small = await extractInWorker(
      'text/plain',
      text(1000),
      { timeoutMs: 60_000, memoryMb: 64, maxChars: 10 ** 9 },
      signal,
    );
    expect(small).toMatchObject({ ok: true, text: 'word '.repeat(200) });
  }, 90_000);

  it('should stop at the timeout however long the work would take', async () => {
    const started = performance.now();
    const outcome = await extractInWorker(
      'text/plain',
      text(32 * 1024 * 1024),
      { timeoutMs: 300, memoryMb: 512, maxChars: 10 ** 9 },
      signal,
    );
    expect(outcome).toMatchObject({ ok: false, code: 'extract_timeout' });
    expect(performance.now() - started).toBeLessThan(5000);
  }, 30_000);
});
