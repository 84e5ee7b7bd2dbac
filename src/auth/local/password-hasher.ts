import { randomBytes } from 'node:crypto';

import { Injectable } from '@nestjs/common';

/**
 * argon2id (the library's default algorithm; its `Algorithm` is a const enum, which
 * isolated-module builds cannot inline) with OWASP's baseline parameters: 19 MiB, 2 passes,
 * 1 lane. Each stored PHC string keeps its parameters, so raising them later still verifies
 * older hashes.
 */
const OPTIONS = { memoryCost: 19_456, timeCost: 2, parallelism: 1 };

/**
 * The native argon2 module, loaded on first use: a service without built-in users
 * (AUTH_MODE other than local) never hashes, and it is ~0.7 MB of native code to map.
 */
function argon2(): Promise<typeof import('@node-rs/argon2')> {
  return import('@node-rs/argon2');
}

@Injectable()
export class PasswordHasher {
  /** Verified against when a username is unknown, so the answer takes as long as a real check. */
  private dummy?: Promise<string>;

  async hash(password: string): Promise<string> {
    return (await argon2()).hash(password, OPTIONS);
  }

  /** Whether `password` matches `stored`; with no stored hash, does the same work and says no. */
  async verify(stored: string | undefined, password: string): Promise<boolean> {
    this.dummy ??= this.hash(randomBytes(32).toString('base64url'));
    const { verify } = await argon2();
    const matches = await verify(stored ?? (await this.dummy), password).catch(() => false);
    return stored !== undefined && matches;
  }
}
