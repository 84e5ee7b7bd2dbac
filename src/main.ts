import 'reflect-metadata';

import type { NestExpressApplication } from '@nestjs/platform-express';
import pino, { Logger } from 'pino';

import { isLoopbackHost } from './common/http/cors';
import { AppConfig } from './config/app-config';
import { ConfigError, Env, loadEnv } from './config/env';
import { loadEnvFile } from './config/env-file';
import { loadLlmSetup } from './llm/llm.module';
import { loadMcpServers } from './tools';
import { prepareDatabase, PreparedDatabase } from './database/prepare-database';
import { prettyTransport } from './logging/pretty';
import { createServer } from './server';
import { assertPortFree } from './startup/assert-port-free';
import { startupSummary } from './startup/startup-summary';

/** The environment, the model and MCP server configuration, or exit 1 naming every problem. */
function readConfig(): Env {
  try {
    const env = loadEnv(process.env);
    const config = new AppConfig(env, '', process.env);
    loadLlmSetup(config);
    loadMcpServers(config);
    return env;
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

/** SIGTERM and Ctrl-C alike: stop taking work, let running replies finish, database last. */
function stopOnSignals(
  app: NestExpressApplication,
  database: PreparedDatabase,
  env: Env,
  log: Logger,
): void {
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
      log.flush();
      process.exit(0);
    } catch (error) {
      log.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.on('SIGTERM', (signal) => void shutdown(signal));
  process.on('SIGINT', (signal) => void shutdown(signal));
}

async function main(): Promise<void> {
  const envFile = loadEnvFile();
  const env = readConfig();
  const log = pino({
    level: env.LOG_LEVEL,
    name: 'bootstrap',
    transport: prettyTransport(env.LOG_PRETTY),
  });
  if (envFile) log.debug(`read ${envFile}; variables set in the environment win`);
  await assertPortFree(env.PORT, env.HOST);
  const database = await prepareDatabase(env, log);
  const app = await createServer(new AppConfig(env, database.url, process.env));
  await app.listen(env.PORT, env.HOST);
  stopOnSignals(app, database, env, log);
  const summary = await startupSummary(app, env, database.description);
  if (summary.warning) log.warn(summary.line);
  else log.info(summary.line);
  if (env.AUTH_MODE === 'none' && !isLoopbackHost(env.HOST)) {
    log.warn(
      `AUTH_MODE=none on ${env.HOST}: anyone who can reach this port reads and writes every conversation; ` +
        'set AUTH_MODE=local, jwt or api-key, or HOST=127.0.0.1',
    );
  }
}

main().catch((error: unknown) => {
  const reason = error instanceof Error ? error.message : JSON.stringify(error);
  process.stderr.write(`Failed to start: ${reason}\n`);
  process.exit(1);
});
