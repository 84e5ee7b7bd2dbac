/**
 * Creates an API key for AUTH_MODE=api-key: prints the key (give it to the client) and
 * the API_KEYS entry (configure it on the server; only the hash is stored).
 *   npm run api-key -- --owner billing-service
 */
import { parseArgs } from 'node:util';

import { generateApiKey, hashApiKey } from '../src/auth/api-keys';

const { values } = parseArgs({ options: { owner: { type: 'string' } } });
if (!values.owner || !/^[A-Za-z0-9._@-]{1,200}$/.test(values.owner)) {
  process.stderr.write('usage: npm run api-key -- --owner <name: letters, digits, . _ @ ->\n');
  process.exit(1);
}
const key = generateApiKey();
process.stdout.write(
  `key:      ${key}\nAPI_KEYS: ${values.owner}:${hashApiKey(key).toString('hex')}\n`,
);
