import type { Server } from 'node:http';

import { INestApplication } from '@nestjs/common';
import { NestExpressApplication } from '@nestjs/platform-express';
import { SwaggerModule } from '@nestjs/swagger';

import { AllExceptionsFilter } from './common/errors/all-exceptions.filter';
import { API_PREFIX } from './common/http/api-prefix';
import { ValidationFailedException } from './common/errors/app.exception';
import { RequestValidationPipe, toFieldErrors } from './common/errors/validation';
import { cacheValidationRules } from './common/errors/validation-metadata';
import { correlationId } from './common/http/correlation-id.middleware';
import { cors, CorsPolicy } from './common/http/cors';
import { requestBody } from './common/http/request-body';
import { securityHeaders } from './common/http/security-headers';
import { AppConfig } from './config/app-config';
import { refuseWhileDraining } from './lifecycle/refuse-while-draining.middleware';
import { ShutdownState } from './lifecycle/shutdown-state';
import { AppLog, RequestLogging } from './logging/logging.module';
import { HttpMetricsMiddleware } from './metrics/http-metrics.middleware';
import { openAiMiddlewareErrors } from './openai/openai-error';
import { OPENAI_ROUTES } from './openai/openai.controller';
import { RESPONSES_ROUTES } from './responses/responses.module';
import { createOpenApiDocument } from './openapi';

/** TRUST_PROXY as Express takes it: a boolean, a hop count, or addresses and subnets. */
function trustProxy(value: string): boolean | number | string {
  if (value === 'true' || value === 'false') return value === 'true';
  return /^\d+$/.test(value) ? Number(value) : value;
}

/**
 * A client gets HTTP_HEADERS_TIMEOUT_MS for its headers and HTTP_REQUEST_TIMEOUT_MS for the
 * whole request (Node's defaults let a body shorter than its Content-Length hold a
 * connection for minutes). Neither limits a response, so streams run as long as needed.
 */
function applyServerTimeouts(server: Server, config: AppConfig): void {
  server.headersTimeout = config.get('HTTP_HEADERS_TIMEOUT_MS');
  server.requestTimeout = config.get('HTTP_REQUEST_TIMEOUT_MS');
  // Node enforces both only when it checks its connections, every 30 s by default; it reads
  // this (a createServer option, which Nest does not pass) when the server starts listening.
  (server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval =
    Math.min(1000, server.headersTimeout);
}

/** Everything main.ts and the tests share: prefix, parsing limits, validation, errors, docs. */
/** helmet's headers. */
function useSecurityHeaders(app: NestExpressApplication): void {
  app.use(
    securityHeaders({
      // Swagger UI needs inline styles and data: images; everything else stays same-origin.
      contentSecurityPolicy: {
        directives: {
          defaultSrc: ["'self'"],
          styleSrc: ["'self'", "'unsafe-inline'"],
          imgSrc: ["'self'", 'data:'],
          scriptSrc: ["'self'"],
          // helmet's default would make browsers fetch Swagger UI's assets over https, which a
          // plain-http deployment (http://server:3000/docs) does not serve: a blank page.
          upgradeInsecureRequests: null,
        },
      },
    }),
  );
}

export function setupApp(app: NestExpressApplication, config: AppConfig): INestApplication {
  app.set('trust proxy', trustProxy(config.get('TRUST_PROXY')));
  useSecurityHeaders(app);
  app.use(correlationId);
  const requestLog = app.get(RequestLogging).handler;
  if (requestLog) app.use(requestLog);
  app.use(app.get(HttpMetricsMiddleware).use);
  const log = app.get(AppLog).pino;
  app.use(
    cors(new CorsPolicy(config.pick('CORS_ORIGINS', 'AUTH_MODE', 'HOST')), (message) =>
      log.warn({ context: 'CORS' }, message),
    ),
  );
  app.use(refuseWhileDraining(app.get(ShutdownState)));
  app.use(requestBody(config.get('BODY_LIMIT_BYTES')));
  // OpenAI clients read errors in OpenAI's shape, also those raised before a route runs.
  app.use('/v1', openAiMiddlewareErrors);
  app.setGlobalPrefix(API_PREFIX, {
    exclude: ['health', 'health/ready', 'metrics', ...OPENAI_ROUTES, ...RESPONSES_ROUTES],
  });
  cacheValidationRules();
  app.useGlobalPipes(
    new RequestValidationPipe((errors) => new ValidationFailedException(toFieldErrors(errors))),
  );
  app.useGlobalFilters(new AllExceptionsFilter());
  app.disable('x-powered-by');
  // Express would hash every JSON body (SHA-1) for an ETag no client of this API revalidates with.
  app.set('etag', false);
  applyServerTimeouts(app.getHttpServer(), config);

  const document = createOpenApiDocument(app);
  SwaggerModule.setup('docs', app, document, {
    jsonDocumentUrl: 'docs-json',
    customSiteTitle: 'Chat backend API',
  });
  return app;
}
