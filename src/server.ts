import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { Logger } from 'nestjs-pino';

import { AppModule, AppOptions } from './app.module';
import { AppConfig } from './config/app-config';
import { FrameworkLogger } from './logging/framework-logger';
import { setupApp } from './setup-app';

/** Builds the fully configured application without listening (main.ts and tests). */
export async function createServer(
  config: AppConfig,
  options: AppOptions = {},
): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, options), {
    bodyParser: false,
    bufferLogs: true,
  });
  app.useLogger(new FrameworkLogger(app.get(Logger)));
  setupApp(app, config);
  return app;
}
