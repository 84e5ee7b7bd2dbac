import { DynamicModule, Module } from '@nestjs/common';
import type { RequestHandler } from 'express';
import { LoggerModule } from 'nestjs-pino';
import pino, { DestinationStream, Logger } from 'pino';

import { redactUrl } from '../common/text/redact-url';
import { AppConfig } from '../config/app-config';
import { prettyTransport } from './pretty';
import { requestLine } from './request-line';

/**
 * The app's own pino logger, for the lines that tell a request's or a turn's story (the
 * request line, the chat-turn line): they are written with their correlation id, to the
 * app that served them. Nest's `Logger` writes to one logger per process.
 *
 * No line finds its request on its own: an AsyncLocalStorage per request would, but on
 * Node 20 it installs a promise hook for every promise the process makes, which cost about
 * 45 MB of peak RSS with 1,000 streams open (bench `memory`) and some 4 % CPU per turn.
 */
export abstract class AppLog {
  abstract readonly pino: Logger;
}

/**
 * The request line's middleware, mounted by setupApp right after the correlation id: null
 * at a level that would not write it, so no request pays for a listener.
 */
export class RequestLogging {
  readonly handler: RequestHandler | null;

  constructor(logger: Logger) {
    this.handler = logger.isLevelEnabled('info') ? requestLine(logger) : null;
  }
}

const loggedUrl = (url: string): string => (url.includes('?') ? redactUrl(url) : url);

/** The one pino logger of the app: Nest's logger (nestjs-pino) and the request lines write to it. */
function createLogger(config: AppConfig, destination?: DestinationStream): Logger {
  const options = {
    level: config.get('LOG_LEVEL'),
    transport: destination ? undefined : prettyTransport(config.get('LOG_PRETTY')),
    redact: ['req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers.cookie'],
    serializers: {
      // originalUrl: Express rewrites req.url inside mounted routers. Query values that are
      // secrets by their name (?access_token=, …) are logged as ***.
      req: (req: { method: string; url: string; originalUrl?: string }) => ({
        method: req.method,
        url: loggedUrl(req.originalUrl ?? req.url),
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
      global: true,
      imports: [
        // nestjs-pino writes Nest's log lines to our logger; its per-request middleware
        // (pino-http: a child logger and a serialized request per request, at any level) is
        // not mounted: RequestLogging does that job only where a line is written.
        LoggerModule.forRoot({ pinoHttp: { logger }, forRoutes: [] }),
      ],
      providers: [
        { provide: RequestLogging, useValue: new RequestLogging(logger) },
        { provide: AppLog, useValue: { pino: logger } },
      ],
      exports: [RequestLogging, AppLog],
    };
  }
}
