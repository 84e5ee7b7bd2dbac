import { BinaryCopyReader } from './binary-copy';

/** A one-column binary COPY stream of `values`, as PostgreSQL writes it. */
function copyStream(values: Buffer[], extension = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(19);
  Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1').copy(header);
  header.writeUInt32BE(extension.length, 15);
  const rows = values.map((value) => {
    const head = Buffer.alloc(6);
    head.writeInt16BE(1, 0);
    head.writeInt32BE(value.length, 2);
    return Buffer.concat([head, value]);
  });
  return Buffer.concat([header, extension, ...rows, Buffer.from([0xff, 0xff])]);
}

function readAll(pieces: Buffer[]): { values: Buffer[]; reader: BinaryCopyReader } {
  const reader = new BinaryCopyReader();
  const values: Buffer[] = [];
  let current: Buffer[] = [];
  for (const piece of pieces)
    for (const { bytes, last } of reader.push(piece)) {
      current.push(bytes);
      if (last) {
        values.push(Buffer.concat(current));
        current = [];
      }
    }
  return { values, reader };
}

describe(BinaryCopyReader.name, () => {
  const values = [Buffer.from('first value'), Buffer.from([0, 1, 2, 255]), Buffer.from('x')];
  const stream = copyStream(values);

  it('should pass on each value whole when the stream comes in one piece', () => {
    const { values: read, reader } = readAll([stream]);
    expect(read).toEqual(values);
    expect(reader.values).toBe(3);
    expect(() => reader.finish()).not.toThrow();
  });

  it('should read the same values however the stream is split', () => {
    for (let cut = 1; cut < stream.length; cut++) {
      const { values: read } = readAll([stream.subarray(0, cut), stream.subarray(cut)]);
      expect(read).toEqual(values);
    }
    const bytes = [...stream].map((byte) => Buffer.from([byte]));
    expect(readAll(bytes).values).toEqual(values);
  });

  it('should skip a header extension', () => {
    expect(readAll([copyStream(values, Buffer.from('ext'))]).values).toEqual(values);
  });

  it('should hand out slices of the pieces, not copies', () => {
    const reader = new BinaryCopyReader();
    const [first] = [...reader.push(stream)];
    first.bytes[0] = 0x46;
    expect(stream.includes(Buffer.from('First value'))).toBe(true);
  });

  it('should refuse a stream that ends early or is not binary COPY', () => {
    const { reader } = readAll([stream.subarray(0, stream.length - 2)]);
    expect(() => reader.finish()).toThrow(/ended early/);
    expect(() => [...new BinaryCopyReader().push(Buffer.alloc(19))]).toThrow(/not a binary COPY/);
  });
});
