/**
 * Mints a development JWT with JWT_SECRET (HS256), for Swagger UI testers:
 *   JWT_SECRET=… npm run token -- --sub alice [--ttl 3600]
 * Adds iss/aud when JWT_ISSUER/JWT_AUDIENCE are set, so the token passes the same checks.
 */
import { parseArgs } from 'node:util';

import { SignJWT } from 'jose';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { sub: { type: 'string' }, ttl: { type: 'string', default: '3600' } },
  });
  const secret = process.env.JWT_SECRET;
  if (!values.sub) throw new Error('usage: npm run token -- --sub <owner> [--ttl seconds]');
  if (!secret || secret.length < 32)
    throw new Error('JWT_SECRET must be set (at least 32 characters)');
  let jwt = new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(values.sub)
    .setIssuedAt()
    .setExpirationTime(`${Number(values.ttl)}s`);
  if (process.env.JWT_ISSUER) jwt = jwt.setIssuer(process.env.JWT_ISSUER);
  if (process.env.JWT_AUDIENCE) jwt = jwt.setAudience(process.env.JWT_AUDIENCE);
  process.stdout.write(`${await jwt.sign(new TextEncoder().encode(secret))}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
