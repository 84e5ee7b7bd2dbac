import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';

/** The OpenAPI document served at /docs-json, built from the controllers' decorators. */
export function createOpenApiDocument(app: INestApplication): OpenAPIObject {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Chat backend')
      .setDescription(
        'Persistent conversations with LLM replies, whole or streamed over Server-Sent Events, ' +
          'or over a WebSocket at `/api/v1/ws` with the same events (OpenAPI cannot describe it; ' +
          'see the README, "WebSocket"). ' +
          'Every error answers `{ statusCode, error, message, correlationId }`.',
      )
      .setVersion('1')
      // Relative: Swagger UI and clients call the host that served the document.
      .addServer('/', 'This server')
      .addBearerAuth({
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'JWT',
        description: 'AUTH_MODE=jwt (npm run token -- --sub alice)',
      })
      .addApiKey(
        { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'AUTH_MODE=api-key' },
        'api-key',
      )
      .build(),
  );
  document.info.license = { name: 'UNLICENSED (proprietary)' };
  return document;
}
