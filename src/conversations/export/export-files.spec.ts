import { randomBytes } from 'node:crypto';

import { base64Of, filesSection } from './export-files';

/** Items one at a time, as a stream gives them. */
async function* streamed<T>(items: T[]): AsyncGenerator<T> {
  for (const item of items) yield await Promise.resolve(item);
}

function pieces(bytes: Buffer, sizes: number[]): AsyncGenerator<Buffer> {
  const list: Buffer[] = [];
  let at = 0;
  for (const size of sizes) {
    list.push(bytes.subarray(at, at + size));
    at += size;
  }
  if (at < bytes.length) list.push(bytes.subarray(at));
  return streamed(list);
}

async function joined(strings: AsyncIterable<string>): Promise<string> {
  let text = '';
  for await (const s of strings) text += s;
  return text;
}

describe(base64Of.name, () => {
  it('should encode pieces of any size as the whole would be', async () => {
    const bytes = randomBytes(1000);
    for (const sizes of [[1], [2, 2, 2], [3, 5, 7, 11], [999], [1000], []])
      expect(await joined(base64Of(pieces(bytes, sizes)))).toBe(bytes.toString('base64'));
    expect(await joined(base64Of(pieces(Buffer.alloc(0), [])))).toBe('');
  });
});

describe(filesSection.name, () => {
  it('should write each file with its data as one JSON array', async () => {
    const bytes = randomBytes(10);
    const file = { id: 'a', filename: 'x "y".png', mimeType: 'image/png', bytes: '10' };
    const files = streamed([
      { file: { ...file, sha256: 'h', kind: 'image' } as never, content: pieces(bytes, [4]) },
      {
        file: { ...file, id: 'b', sha256: 'i', kind: 'image' } as never,
        content: pieces(bytes, []),
      },
    ]);
    const text = `{"x":1${await joined(filesSection(files))}}`;
    const parsed = JSON.parse(text);
    expect(parsed.files.map((f: { id: string }) => f.id)).toEqual(['a', 'b']);
    expect(parsed.files[0]).toEqual({
      id: 'a',
      filename: 'x "y".png',
      mimeType: 'image/png',
      bytes: 10,
      sha256: 'h',
      kind: 'image',
      data: bytes.toString('base64'),
    });
  });
});
