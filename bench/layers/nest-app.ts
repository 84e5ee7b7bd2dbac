/**
 * Layers 2 and 3 of the layers scenario: the floor's work (floor-work.ts, floor-reads.ts)
 * behind a minimal Nest app on @nestjs/platform-express, set up as the service sets up its
 * own (setup-app.ts): express.json for bodies, the global prefix, the global ValidationPipe
 * with the service's options, one global guard (the owner, as AUTH_MODE=none makes it),
 * one controller, Express without ETag and X-Powered-By. Data through raw pg; the upstream
 * calls are the `Upstream` it is given (raw http for layer 2, the openai SDK for layer 3).
 * Streamed turns write the floor's SSE frames on the Express response Nest hands the
 * handler (@Res()), as the floor writes them on node:http's.
 */
import 'reflect-metadata';

import {
  ArgumentsHost,
  Body,
  CanActivate,
  Catch,
  Controller,
  DynamicModule,
  ExceptionFilter,
  ExecutionContext,
  Get,
  Inject,
  Injectable,
  Module,
  Param,
  ParseUUIDPipe,
  Post,
  Res,
  ValidationPipe,
} from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';
import express, { Request, Response } from 'express';

import { VALIDATION_OPTIONS } from '../../src/common/errors/validation';
import { getConversation, ReadAnswer } from '../floor-reads';
import {
  Complete,
  health,
  HttpError,
  pool,
  sendError,
  serve,
  Stream,
  streamedReply,
  wholeTurn,
} from '../floor-work';

const UPSTREAM = Symbol('upstream');

/** How a layer calls the upstream: for a whole reply, and streamed. */
export interface Upstream {
  complete: Complete;
  stream: Stream;
}

/**
 * The parameter types tsc's emitDecoratorMetadata would record for a handler, which the
 * ValidationPipe reads to know what to validate: tsx (esbuild) records none.
 */
const paramTypes = (...types: unknown[]): MethodDecorator =>
  Reflect.metadata('design:paramtypes', types);

class TurnBody {
  @IsString()
  @IsNotEmpty()
  @MaxLength(100_000)
  message!: string;
}

@Injectable()
class OwnerGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    context.switchToHttp().getRequest<Request>().owner = 'local';
    return true;
  }
}

@Catch(HttpError)
class FloorErrors implements ExceptionFilter<HttpError> {
  catch(error: HttpError, host: ArgumentsHost): void {
    sendError(host.switchToHttp().getResponse<Response>(), error);
  }
}

/** The answer's body, or its error thrown for the filter. */
function bodyOf({ status, body }: ReadAnswer): unknown {
  if (status !== 200) throw new HttpError(status, (body as { error: string }).error);
  return body;
}

@Controller()
class LayerController {
  constructor(@Inject(UPSTREAM) private readonly upstream: Upstream) {}

  @Get('health')
  health(): object {
    return health();
  }

  @Get('conversations/:id')
  @paramTypes(String)
  async conversation(@Param('id', ParseUUIDPipe) id: string): Promise<unknown> {
    return bodyOf(await getConversation(pool, id));
  }

  @Post('conversations/:id/messages')
  @paramTypes(String, TurnBody)
  turn(@Param('id', ParseUUIDPipe) id: string, @Body() body: TurnBody): Promise<object> {
    return wholeTurn(id, body.message, this.upstream.complete);
  }

  @Post('conversations/:id/messages/stream')
  @paramTypes(String, TurnBody, Object)
  stream(
    @Param('id', ParseUUIDPipe) id: string,
    @Body() body: TurnBody,
    @Res() res: Response,
  ): Promise<void> {
    return streamedReply(res, id, body.message, this.upstream.stream);
  }
}

@Module({})
class LayerModule {
  static forRoot(upstream: Upstream): DynamicModule {
    return {
      module: LayerModule,
      controllers: [LayerController],
      providers: [
        { provide: UPSTREAM, useValue: upstream },
        { provide: APP_GUARD, useClass: OwnerGuard },
      ],
    };
  }
}

/** Builds the app around `upstream` and serves it on PORT as `name`. */
export async function serveNest(name: string, upstream: Upstream): Promise<void> {
  const app = await NestFactory.create<NestExpressApplication>(LayerModule.forRoot(upstream), {
    bodyParser: false,
    logger: ['warn', 'error'],
  });
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(express.json({ limit: '1mb' }));
  app.setGlobalPrefix('api/v1', { exclude: ['health'] });
  app.useGlobalPipes(new ValidationPipe({ ...VALIDATION_OPTIONS, transform: true }));
  app.useGlobalFilters(new FloorErrors());
  await app.init();
  serve(app.getHttpServer(), name);
}
