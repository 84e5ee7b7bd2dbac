import type { FileRow } from '../../files';

/** An attached file to embed: its row and its bytes as they are read from storage. */
export interface EmbeddedFile {
  file: FileRow;
  content: AsyncIterable<Buffer>;
}

/**
 * Bytes as base64, piece by piece: each piece encodes whole groups of 3 bytes and the 0–2
 * left over wait for the next, so the pieces join into one base64 string and memory holds
 * one storage chunk, never the file.
 */
export async function* base64Of(content: AsyncIterable<Buffer>): AsyncGenerator<string> {
  let carry = Buffer.alloc(0);
  for await (const piece of content) {
    const bytes = carry.length > 0 ? Buffer.concat([carry, piece]) : piece;
    const whole = bytes.length - (bytes.length % 3);
    if (whole > 0) yield bytes.subarray(0, whole).toString('base64');
    carry = Buffer.from(bytes.subarray(whole));
  }
  if (carry.length > 0) yield carry.toString('base64');
}

/** The json export's `files`: each file once, `data` (base64) written as it is read. */
export async function* filesSection(files: AsyncIterable<EmbeddedFile>): AsyncGenerator<string> {
  yield ',"files":[';
  let first = true;
  for await (const { file, content } of files) {
    const { id, filename, mimeType, sha256, kind } = file;
    const meta = { id, filename, mimeType, bytes: Number(file.bytes), sha256, kind };
    // The object without its closing brace, then the data field streamed into it.
    yield `${first ? '' : ','}${JSON.stringify(meta).slice(0, -1)},"data":"`;
    yield* base64Of(content);
    yield '"}';
    first = false;
  }
  yield ']';
}
