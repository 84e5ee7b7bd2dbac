import { APIError } from 'openai';

import { generateApiKey, hashApiKey } from '../../src/auth/api-keys';

/**
 * Two owners, alice and bob, each with an API key: the env of an app in api-key mode
 * where isolation between them can be tried.
 */
export function twoOwners(): { keyA: string; keyB: string; env: Record<string, string> } {
  const [keyA, keyB] = [generateApiKey(), generateApiKey()];
  const entry = (name: string, key: string) => `${name}:${hashApiKey(key).toString('hex')}`;
  const env = { AUTH_MODE: 'api-key', API_KEYS: `${entry('alice', keyA)},${entry('bob', keyB)}` };
  return { keyA, keyB, env };
}

/** The APIError an `openai` SDK call rejects with; anything else (or success) fails. */
export async function apiError(promise: Promise<unknown>): Promise<APIError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof APIError) return error;
    throw error;
  }
  throw new Error('expected an APIError');
}
