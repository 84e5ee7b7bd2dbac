import { DynamicModule, Module, RequestMethod } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';

import { LoggerModule } from 'nestjs-pino';
import type { Options } from 'pino-http';
import type { DestinationStream } from 'pino';

import { AppConfig } from '../config/app-config';
import { prettyTransport } from './pretty';

/** Levels at which pino-http's one line per request (at info) is written. */
const LEVELS_WRITING_INFO = new Set(['info', 'debug', 'trace']);

@Module({})
export class LoggingModule {
  /** `destination` defaults to stdout; tests pass a stream to read what was logged. */
  static forRoot(config: AppConfig, destination?: DestinationStream): DynamicModule {
    const level = config.get('LOG_LEVEL');
    const options: Options = {
      level,
      transport: destination ? undefined : prettyTransport(config.get('LOG_PRETTY')),
      // The correlation-id middleware has run first and set req.id.
      genReqId: (req) => req.id,
      // On every line logged while serving the request, chat-turn lines included.
      customProps: (req) => ({ correlationId: req.id }),
      // The request line is written at info: below that level nothing is listened for or built.
      autoLogging: LEVELS_WRITING_INFO.has(level),
      // One line per request: method, URL, matched route, status, duration, correlation id.
      customSuccessObject: (req, _res, line: Record<string, unknown>) => ({
        ...line,
        route: (req as IncomingMessage & { route?: { path?: string } }).route?.path ?? null,
      }),
      redact: ['req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers.cookie'],
      serializers: {
        req: (req: { method: string; url: string }) => ({ method: req.method, url: req.url }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    };
    return {
      module: LoggingModule,
      imports: [
        LoggerModule.forRoot({
          forRoutes: [{ path: '{*path}', method: RequestMethod.ALL }],
          pinoHttp: destination ? [options, destination] : options,
        }),
      ],
    };
  }
}
