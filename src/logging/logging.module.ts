import { DynamicModule, Module } from '@nestjs/common';
import type { RequestHandler } from 'express';
import { LoggerModule } from 'nestjs-pino';
import pino, { DestinationStream, Logger } from 'pino';

import { AppConfig } from '../config/app-config';
import { prettyTransport } from './pretty';
import { requestBindings, requestContext } from './request-context';
import { requestLine } from './request-line';

/**
 * What every request passes through for logging, mounted by setupApp right after the
 * correlation id: the request context always (every line written while serving a request
 * carries its correlation id, and goes to the logger of the app serving it), the request
 * line only at a level that writes it.
 */
export class RequestLogging {
  readonly handlers: RequestHandler[];

  constructor(logger: Logger) {
    this.handlers = logger.isLevelEnabled('info')
      ? [requestContext(logger), requestLine(logger)]
      : [requestContext(logger)];
  }
}

/** The one pino logger of the app: Nest's logger (nestjs-pino) and the request lines write to it. */
function createLogger(config: AppConfig, destination?: DestinationStream): Logger {
  const options = {
    level: config.get('LOG_LEVEL'),
    transport: destination ? undefined : prettyTransport(config.get('LOG_PRETTY')),
    // Read when a line is written, never per request: a level that writes nothing costs nothing.
    mixin: requestBindings,
    redact: ['req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers.cookie'],
    serializers: {
      // originalUrl: Express rewrites req.url inside mounted routers.
      req: (req: { method: string; url: string; originalUrl?: string }) => ({
        method: req.method,
        url: req.originalUrl ?? req.url,
      }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      err: pino.stdSerializers.err,
    },
  };
  return destination ? pino(options, destination) : pino(options);
}

@Module({})
export class LoggingModule {
  /** `destination` defaults to stdout; tests pass a stream to read what was logged. */
  static forRoot(config: AppConfig, destination?: DestinationStream): DynamicModule {
    const logger = createLogger(config, destination);
    return {
      module: LoggingModule,
      imports: [
        // nestjs-pino writes Nest's log lines to our logger; its per-request middleware
        // (pino-http: a child logger and a serialized request per request, at any level) is
        // not mounted: RequestLogging does that job only where a line is written.
        LoggerModule.forRoot({ pinoHttp: { logger }, forRoutes: [] }),
      ],
      providers: [{ provide: RequestLogging, useValue: new RequestLogging(logger) }],
      exports: [RequestLogging],
    };
  }
}
