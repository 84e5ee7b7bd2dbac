import { contentDisposition } from './content-disposition';
import { isAllowedType, sniffType } from './content-type';

const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);

describe(sniffType.name, () => {
  it('should go by the bytes, never the name', async () => {
    expect(await sniffType(PNG, 'notes.txt')).toEqual({
      mimeType: 'image/png',
      kind: 'image',
      text: false,
    });
    expect(await sniffType(Buffer.from('%PDF-1.7\n%âãÏÓ\n'), 'a.png')).toMatchObject({
      mimeType: 'application/pdf',
      kind: 'document',
    });
  });

  it('should tell markup from text, whatever the extension', async () => {
    const type = async (text: string, name = 'x.txt') =>
      (await sniffType(Buffer.from(text), name))?.mimeType;
    expect(await type('<!DOCTYPE html><p>hi')).toBe('text/html');
    expect(await type('  <html lang="en">', 'x.md')).toBe('text/html');
    expect(await type('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>')).toBe(
      'image/svg+xml',
    );
    expect(await type('<svg viewBox="0 0 1 1"></svg>', 'x.csv')).toBe('image/svg+xml');
    expect(await type('<?xml version="1.0"?><note/>')).toBe('application/xml');
  });

  it('should let the extension pick only among safe text types', async () => {
    const type = async (name: string) =>
      (await sniffType(Buffer.from('a,b\n1,2\n'), name))?.mimeType;
    expect(await type('t.csv')).toBe('text/csv');
    expect(await type('t.md')).toBe('text/markdown');
    expect(await type('t.json')).toBe('application/json');
    expect(await type('t.html')).toBe('text/plain');
    expect(await type('t.ts')).toBe('text/plain');
  });

  it('should find no type for binary it does not know, or text with NUL', async () => {
    expect(await sniffType(Buffer.from([0x00, 0x01, 0x02, 0xff, 0xfe]), 'a.bin')).toBeUndefined();
    expect(await sniffType(Buffer.from('text\u0000more'), 'a.txt')).toBeUndefined();
  });

  it('should accept a head cut inside a UTF-8 character', async () => {
    const cut = Buffer.from('café').subarray(0, 4);
    expect(await sniffType(cut, 'a.txt')).toMatchObject({ mimeType: 'text/plain', text: true });
  });
});

describe(isAllowedType.name, () => {
  it('should match exact types and whole-type wildcards', () => {
    expect(isAllowedType('image/png', ['image/*'])).toBe(true);
    expect(isAllowedType('image/png', ['image/jpeg'])).toBe(false);
    expect(isAllowedType('text/html', ['text/plain', 'application/pdf'])).toBe(false);
  });
});

describe(contentDisposition.name, () => {
  it('should offer what a browser could run as an attachment', () => {
    expect(contentDisposition('text/html', 'page.html')).toMatch(/^attachment;/);
    expect(contentDisposition('image/svg+xml', 'a.svg')).toMatch(/^attachment;/);
    expect(contentDisposition('application/pdf', 'a.pdf')).toMatch(/^attachment;/);
    expect(contentDisposition('image/png', 'a.png')).toMatch(/^inline;/);
  });

  it('should carry any name safely, as ASCII and as UTF-8', () => {
    expect(contentDisposition('text/plain', 'résumé "final".txt')).toBe(
      `inline; filename="r_sum_ _final_.txt"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%22final%22.txt`,
    );
  });
});
