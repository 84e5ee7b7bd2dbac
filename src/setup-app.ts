import { INestApplication, ValidationError, ValidationPipe } from '@nestjs/common';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';

import { AllExceptionsFilter } from './common/errors/all-exceptions.filter';
import { FieldError, ValidationFailedException } from './common/errors/app.exception';
import { bodyParserErrors } from './common/http/body-parser-errors';
import { correlationId } from './common/http/correlation-id.middleware';
import { AppConfig } from './config/app-config';

export const API_PREFIX = 'api/v1';

function flatten(errors: ValidationError[], parent = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = error.constraints ? [{ field, errors: Object.values(error.constraints) }] : [];
    return [...own, ...flatten(error.children ?? [], field)];
  });
}

/** Everything main.ts and the tests share: prefix, parsing limits, validation, errors, docs. */
export function setupApp(app: NestExpressApplication, config: AppConfig): INestApplication {
  app.use(correlationId);
  app.useBodyParser('json', { limit: config.get('BODY_LIMIT_BYTES') });
  app.use(bodyParserErrors);
  app.setGlobalPrefix(API_PREFIX, { exclude: ['health', 'health/ready', 'metrics'] });
  app.useGlobalPipes(
    new ValidationPipe({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      exceptionFactory: (errors) => new ValidationFailedException(flatten(errors)),
    }),
  );
  app.useGlobalFilters(new AllExceptionsFilter());
  app.disable('x-powered-by');

  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Chat backend')
      .setDescription(
        'Persistent conversations with LLM replies, whole or streamed over Server-Sent Events. ' +
          'Every error answers `{ statusCode, error, message, correlationId }`.',
      )
      .setVersion('1')
      .build(),
  );
  SwaggerModule.setup('docs', app, document, {
    jsonDocumentUrl: 'docs-json',
    customSiteTitle: 'Chat backend API',
  });
  return app;
}
