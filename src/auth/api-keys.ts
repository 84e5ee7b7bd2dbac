import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export interface ApiKeyEntry {
  owner: string;
  hash: Buffer;
}

export const hashApiKey = (key: string): Buffer =>
  createHash('sha256').update(key, 'utf8').digest();

/** Parses API_KEYS (`owner:sha256hex,…`); keys themselves are never configured in clear. */
export function parseApiKeys(config: string | undefined): ApiKeyEntry[] {
  if (!config) return [];
  return config.split(',').map((entry) => {
    const [owner, hex] = entry.split(':');
    return { owner, hash: Buffer.from(hex, 'hex') };
  });
}

/** The owner of `key`, comparing against every entry in constant time. */
export function ownerOfApiKey(key: string, entries: ApiKeyEntry[]): string | undefined {
  const hash = hashApiKey(key);
  let owner: string | undefined;
  for (const entry of entries) {
    if (timingSafeEqual(hash, entry.hash) && owner === undefined) owner = entry.owner;
  }
  return owner;
}

/** A new random key, for `npm run api-key`. */
export const generateApiKey = (): string => `cbk_${randomBytes(24).toString('base64url')}`;
