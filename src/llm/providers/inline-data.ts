import { randomUUID } from 'node:crypto';

/**
 * Long base64 values of a request body (images in data URLs), kept out of the SDK's
 * JSON.stringify: on Node 20 it scans a string character by character for escapes, about
 * 5 ms for a 1 MB image, and base64 never needs one. The body the SDK serialises carries
 * a short stand-in instead; the fetch (keep-alive-fetch.ts) writes the value in its place.
 */
export class InlineData {
  /** Random per request, so no text a user sends can name a value. */
  private readonly marker = `inline-data-${randomUUID()}-`;
  private readonly values: string[] = [];

  /** A stand-in for `base64` (only base64: it is written into a JSON string unescaped). */
  standIn(base64: string): string {
    return `${this.marker}${this.values.push(base64) - 1}.`;
  }

  get empty(): boolean {
    return this.values.length === 0;
  }

  /** The serialised body in pieces, each stand-in replaced by its value. */
  pieces(body: string): string[] {
    const parts = body.split(new RegExp(`${this.marker}(\\d+)\\.`));
    return parts.map((part, i) => (i % 2 === 1 ? this.values[Number(part)] : part));
  }
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
