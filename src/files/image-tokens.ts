import { imageSize } from 'image-size';

/** OpenAI's published cost of an image (GPT-4o class models). */
const BASE_TOKENS = 85;
const TILE_TOKENS = 170;
const TILE_PX = 512;
const MAX_SIDE_PX = 2048;
const SHORT_SIDE_PX = 768;

/**
 * Tokens an image costs a vision model by OpenAI's rule: at `low` detail a flat 85; at
 * `high` (and `auto`, which is high for anything but a thumbnail) it is fitted within
 * 2048×2048, its short side brought down to 768 px, and each 512 px tile of the result
 * costs 170 on top of the 85. A 1024×1024 image: 765 tokens.
 */
export function imageTokens(
  width: number,
  height: number,
  detail: 'low' | 'high' = 'high',
): number {
  if (detail === 'low' || width <= 0 || height <= 0) return BASE_TOKENS;
  let w = width;
  let h = height;
  const fit = Math.min(1, MAX_SIDE_PX / Math.max(w, h));
  w *= fit;
  h *= fit;
  const shorten = Math.min(1, SHORT_SIDE_PX / Math.min(w, h));
  w = Math.floor(w * shorten);
  h = Math.floor(h * shorten);
  return BASE_TOKENS + TILE_TOKENS * Math.ceil(w / TILE_PX) * Math.ceil(h / TILE_PX);
}

/** An image whose dimensions are unknown is counted as a large one (4 tiles). */
export const UNKNOWN_IMAGE_TOKENS = imageTokens(2048, 2048);

/** Width and height from the image's first bytes; unknown (null) when they do not say. */
export function imageDimensions(head: Buffer): { width: number; height: number } | null {
  try {
    const { width, height } = imageSize(head);
    return width && height ? { width, height } : null;
  } catch {
    return null;
  }
}

/** Bytes of an image's start that carry its dimensions (an upload's first chunk reads as many). */
const HEAD_BYTES = 256 * 1024;

/**
 * What an image sent inline (bytes or base64, never stored) costs: its dimensions are read from
 * the decoded start only, so a large image is not decoded whole just to be counted.
 */
export function inlineImageTokens(data: Buffer | string): number {
  const headChars = Math.ceil(HEAD_BYTES / 3) * 4;
  const head =
    typeof data === 'string'
      ? Buffer.from(data.slice(0, headChars), 'base64')
      : data.subarray(0, HEAD_BYTES);
  const size = imageDimensions(head);
  return size ? imageTokens(size.width, size.height) : UNKNOWN_IMAGE_TOKENS;
}
