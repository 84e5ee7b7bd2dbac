import { storableText, StorableTextStream, unstorableTextReason } from './storable-text';

describe('storableText', () => {
  it('should drop NUL and lone surrogate halves and keep pairs', () => {
    const text = storableText('a\u0000b\ud800c\udc00d\ud83d\ude00e');
    expect(text).toBe('abcd\ud83d\ude00e');
    expect(unstorableTextReason(text)).toBeUndefined();
  });

  it('should return clean text as it is', () => {
    const text = 'plain text';
    expect(storableText(text)).toBe(text);
  });
});

describe(StorableTextStream.name, () => {
  it('should keep a surrogate pair split between pieces and drop a half left alone', () => {
    const stream = new StorableTextStream();
    expect(stream.push('a\u0000\ud83d')).toBe('a');
    expect(stream.push('\ude00b\ud83d')).toBe('\ud83d\ude00b');
    expect(stream.push('c')).toBe('c');
  });
});
