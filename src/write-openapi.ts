import 'reflect-metadata';

import { writeFileSync } from 'node:fs';

import { AppConfig } from './config/app-config';
import { loadEnv } from './config/env';
import { createOpenApiDocument } from './openapi';
import { createServer } from './server';

/**
 * Writes the OpenAPI document to the file named on the command line (stdout without one),
 * from the application's modules alone: nothing listens and no database is connected.
 */
async function main(): Promise<void> {
  const config = new AppConfig(
    loadEnv({ LOG_LEVEL: 'silent' }),
    'postgresql://unused@localhost:5432/unused',
  );
  const app = await createServer(config);
  const json = `${JSON.stringify(createOpenApiDocument(app), null, 2)}\n`;
  await app.close();
  const file = process.argv[2];
  if (file) writeFileSync(file, json);
  else process.stdout.write(json);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
