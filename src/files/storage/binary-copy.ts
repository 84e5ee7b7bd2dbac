/** PGCOPY\n\377\r\n\0, then flags (int32) and the header extension's length (int32). */
const HEADER_BYTES = 19;
const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

/**
 * The values of a one-column `COPY … TO STDOUT (FORMAT binary)`, as the stream delivers
 * it: each value's bytes passed on as slices of the pieces received, never copied or
 * turned into text (a bytea read by a query arrives as hex, twice its size, which Node
 * decodes into a string first and then into bytes).
 */
export class BinaryCopyReader {
  private state: 'header' | 'extension' | 'tuple' | 'length' | 'value' | 'end' = 'header';
  /** The few bytes of a header, count or length split across pieces. */
  private partial: Buffer[] = [];
  private partialBytes = 0;
  /** Bytes the current step still needs (a value's, or a fixed field's). */
  private need = HEADER_BYTES;
  /** Values completed so far. */
  values = 0;

  /** The value bytes in `piece`, in order; `last` marks a piece that ends a value. */
  *push(piece: Buffer): Generator<{ bytes: Buffer; last: boolean }> {
    let at = 0;
    while (at < piece.length && this.state !== 'end') {
      if (this.state === 'value') {
        const take = Math.min(this.need, piece.length - at);
        const last = take === this.need;
        this.need -= take;
        if (last) this.step('tuple', 2);
        yield { bytes: piece.subarray(at, (at += take)), last };
        continue;
      }
      const field = this.gather(piece, at);
      at += field.used;
      if (field.bytes) this.read(field.bytes);
    }
  }

  /** Throws unless the stream ended where the format does. */
  finish(): void {
    if (this.state !== 'end') throw new Error(`COPY data ended early (in ${this.state})`);
  }

  private gather(piece: Buffer, at: number): { used: number; bytes?: Buffer } {
    const used = Math.min(this.need - this.partialBytes, piece.length - at);
    this.partial.push(piece.subarray(at, at + used));
    this.partialBytes += used;
    if (this.partialBytes < this.need) return { used };
    const bytes = Buffer.concat(this.partial);
    this.partial = [];
    this.partialBytes = 0;
    return { used, bytes };
  }

  private read(field: Buffer): void {
    if (this.state === 'header') {
      if (!field.subarray(0, SIGNATURE.length).equals(SIGNATURE))
        throw new Error('not a binary COPY stream');
      const extension = field.readUInt32BE(15);
      return extension > 0 ? this.step('extension', extension) : this.step('tuple', 2);
    }
    if (this.state === 'extension') return this.step('tuple', 2);
    if (this.state === 'tuple') {
      const count = field.readInt16BE(0);
      if (count === -1) return this.step('end', 0);
      if (count !== 1) throw new Error(`expected one column per row, got ${count}`);
      return this.step('length', 4);
    }
    const length = field.readInt32BE(0);
    if (length < 0) throw new Error('a NULL value where bytes were expected');
    this.values++;
    // An empty value has no bytes to pass on: straight to the next row.
    return length === 0 ? this.step('tuple', 2) : this.step('value', length);
  }

  private step(state: BinaryCopyReader['state'], need: number): void {
    this.state = state;
    this.need = need;
  }
}
