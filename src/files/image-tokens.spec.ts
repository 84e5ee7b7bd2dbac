import { imageTokens } from './image-tokens';

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
