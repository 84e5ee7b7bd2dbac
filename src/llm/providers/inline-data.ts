import { randomUUID } from 'node:crypto';

/** Bytes encoded per piece written: a multiple of 3, so the pieces' base64 joins up. */
const SLICE_BYTES = 48 * 1024;

/**
 * Images' base64 kept out of the SDK's JSON.stringify, which on Node 20 scans a string
 * character by character for escapes (about 5 ms for a 1 MB image, and base64 never needs
 * one). The body the SDK serialises carries a short stand-in; the fetch
 * (keep-alive-fetch.ts) writes the image in its place, encoded slice by slice, so no
 * string of the whole image is made: one would land in the heap's large-object space
 * and stay there, promoted, until a full GC.
 */
export class InlineData {
  /** Random per request, so no text a user sends can name a value. */
  private readonly marker = `inline-data-${randomUUID()}-`;
  private readonly values: (Buffer | string)[] = [];

  /** A stand-in for the base64 of `data` (bytes, or base64 already). */
  standIn(data: Buffer | string): string {
    return `${this.marker}${this.values.push(data) - 1}.`;
  }

  get empty(): boolean {
    return this.values.length === 0;
  }

  /** The serialised body in pieces to write in order, each stand-in replaced by its base64. */
  pieces(body: string): string[] {
    const parts = body.split(new RegExp(`${this.marker}(\\d+)\\.`));
    return parts.flatMap((part, i) =>
      i % 2 === 1 ? base64Pieces(this.values[Number(part)]) : part,
    );
  }
}

function base64Pieces(data: Buffer | string): string[] {
  if (typeof data === 'string') return [data];
  const pieces: string[] = [];
  for (let at = 0; at < data.length; at += SLICE_BYTES)
    pieces.push(data.toString('base64', at, Math.min(at + SLICE_BYTES, data.length)));
  return pieces;
}

/** What a provider's fetch may find in its init: the values of the body's stand-ins. */
export interface InlineInit {
  inlineData?: InlineData;
}

/** Per-request fetch options as the SDKs take them (they set the rest themselves). */
type FetchOptions = Omit<RequestInit, 'headers' | 'method' | 'signal' | 'body'>;

/** The SDK's per-request options: the signal, and the inline data handed to our fetch. */
export function sdkCallOptions(
  signal: AbortSignal,
  inline: InlineData,
): { signal: AbortSignal; fetchOptions?: FetchOptions } {
  if (inline.empty) return { signal };
  // The SDKs spread fetchOptions into the init they give fetch, unknown keys included.
  const fetchOptions: InlineInit = { inlineData: inline };
  return { signal, fetchOptions: fetchOptions as FetchOptions };
}
