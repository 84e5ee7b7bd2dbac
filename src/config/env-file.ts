import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * Reads `.env` from the working directory into the environment, when there is one (as
 * .env.example suggests). Variables already set win over the file, as with Node's
 * --env-file and Docker Compose. Returns the file read.
 */
export function loadEnvFile(file = '.env'): string | undefined {
  if (!existsSync(file)) return undefined;
  process.loadEnvFile(file);
  return path.resolve(file);
}
