import { imageTokens, inlineImageTokens, UNKNOWN_IMAGE_TOKENS } from './image-tokens';

/** A PNG's first bytes up to its IHDR: enough for its width and height. */
function pngHead(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(25);
  ihdr.writeUInt32BE(13, 0);
  ihdr.write('IHDR', 4, 'latin1');
  ihdr.writeUInt32BE(width, 8);
  ihdr.writeUInt32BE(height, 12);
  return Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), ihdr]);
}

describe(imageTokens.name, () => {
  it("should match OpenAI's worked examples", () => {
    // 1024×1024 → 768×768: 4 tiles.
    expect(imageTokens(1024, 1024)).toBe(765);
    // 2048×4096 → 1024×2048 → 768×1536: 6 tiles.
    expect(imageTokens(2048, 4096)).toBe(1105);
    // Any image at low detail.
    expect(imageTokens(4096, 8192, 'low')).toBe(85);
  });

  it('should not scale a small image up', () => {
    expect(imageTokens(100, 100)).toBe(255);
    expect(imageTokens(512, 513)).toBe(85 + 170 * 2);
  });

  it('should charge the base for an image of unknown size', () => {
    expect(imageTokens(0, 0)).toBe(85);
  });
});

describe(inlineImageTokens.name, () => {
  it('should read the size of an inline image from its start, as bytes or base64', () => {
    const head = pngHead(1024, 1024);
    // Whatever follows the first 256 KiB is never decoded.
    const long = Buffer.concat([head, Buffer.alloc(600 * 1024)]);
    expect(inlineImageTokens(long)).toBe(765);
    expect(inlineImageTokens(long.toString('base64'))).toBe(765);
  });

  it('should count an image whose size it cannot read as a large one', () => {
    expect(inlineImageTokens(Buffer.from('not an image'))).toBe(UNKNOWN_IMAGE_TOKENS);
    expect(inlineImageTokens('%%%')).toBe(UNKNOWN_IMAGE_TOKENS);
  });
});
