import { NestExpressApplication } from '@nestjs/platform-express';
import type { Server } from 'node:http';
import request from 'supertest';
import TestAgent from 'supertest/lib/agent';

import { AppOptions } from '../../src/app.module';
import { AppConfig } from '../../src/config/app-config';
import { loadEnv } from '../../src/config/env';
import { PrismaService } from '../../src/database/prisma.service';
import { createServer } from '../../src/server';

export interface TestApp {
  app: NestExpressApplication;
  /** Origin the app listens on, e.g. http://127.0.0.1:41234 */
  url: string;
  http: TestAgent;
  prisma: PrismaService;
  close(): Promise<void>;
}

/** Boots the real application, listening on a free loopback port, on the given database. */
export async function startTestApp(
  databaseUrl: string,
  env: Record<string, string> = {},
  options: AppOptions = {},
): Promise<TestApp> {
  // Titles off unless a spec asks: a title call would be one more request to the fakes.
  const variables = { LOG_LEVEL: 'silent', TITLES: 'off', ...env };
  const config = new AppConfig(loadEnv(variables), databaseUrl, variables);
  const app = await createServer(config, options);
  await app.listen(0, '127.0.0.1');
  const server: Server = app.getHttpServer();
  const address = server.address();
  if (address === null || typeof address === 'string')
    throw new Error('app is not listening on TCP');
  return {
    app,
    url: `http://127.0.0.1:${address.port}`,
    http: request(server),
    prisma: app.get(PrismaService),
    close: () => app.close(),
  };
}
