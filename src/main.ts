import 'reflect-metadata';

import pino from 'pino';

import { AppConfig } from './config/app-config';
import { ConfigError, loadEnv } from './config/env';
import { prepareDatabase } from './database/prepare-database';
import { createServer } from './server';

async function main(): Promise<void> {
  let env;
  try {
    env = loadEnv(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const log = pino({ level: env.LOG_LEVEL, name: 'bootstrap' });
  const database = await prepareDatabase(env, log);
  const app = await createServer(new AppConfig(env, database.url));
  await app.listen(env.PORT, env.HOST);
  log.info(`listening on http://${env.HOST}:${env.PORT} (Swagger UI at /docs)`);
  if (env.AUTH_MODE === 'none' && !['127.0.0.1', '::1', 'localhost'].includes(env.HOST)) {
    log.warn(
      `AUTH_MODE=none on ${env.HOST}: anyone who can reach this port reads and writes every conversation; ` +
        'set AUTH_MODE=jwt or api-key, or HOST=127.0.0.1',
    );
  }

  let stopping = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down: finishing in-flight requests');
    setTimeout(() => {
      log.error('shutdown deadline passed; exiting with work unfinished');
      process.exit(1);
    }, env.SHUTDOWN_TIMEOUT_MS + 10_000).unref();
    try {
      await app.close();
      await database.stop();
      log.info('stopped');
      process.exit(0);
    } catch (error) {
      log.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.on('SIGTERM', (signal) => void shutdown(signal));
  process.on('SIGINT', (signal) => void shutdown(signal));
}

main().catch((error: unknown) => {
  process.stderr.write(
    `Failed to start: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
