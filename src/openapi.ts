import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';

import { AppConfig } from './config/app-config';

/** The OpenAPI document served at /docs-json, built from the controllers' decorators. */
export function createOpenApiDocument(app: INestApplication): OpenAPIObject {
  const builder = new DocumentBuilder()
    .setTitle('Chat backend')
    .setDescription(
      'Persistent conversations with LLM replies, whole or streamed over Server-Sent Events, ' +
        'or over a WebSocket at `/api/v1/ws` with the same events (OpenAPI cannot describe it; ' +
        'see docs/api.md, "WebSocket"). ' +
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
    );
  const local = app.get(AppConfig).get('AUTH_MODE') === 'local';
  if (local) builder.addOAuth2(LOCAL_PASSWORD_FLOW, LOCAL_SCHEME);
  const document = SwaggerModule.createDocument(app, builder.build(), {
    operationIdFactory: operationId,
  });
  if (local) acceptLocalTokens(document);
  document.info.license = { name: 'UNLICENSED (proprietary)' };
  return document;
}

/**
 * Generated clients name their methods after the operationId: a domain verb
 * (`createConversation`) rather than Nest's default `ConversationsController_create`.
 * `/v1` keeps the names of OpenAI's own document, so OpenAI-shaped clients read the same.
 */
export const OPERATION_IDS: Record<string, Record<string, string>> = {
  ConversationsController: {
    create: 'createConversation',
    list: 'listConversations',
    get: 'getConversation',
    update: 'updateConversation',
    delete: 'deleteConversation',
  },
  ConversationExportController: { export: 'exportConversation' },
  AccountExportController: { export: 'exportAccount' },
  MessagesController: { list: 'listMessages' },
  FeedbackController: { put: 'setMessageFeedback', remove: 'deleteMessageFeedback' },
  ChatController: {
    send: 'sendMessage',
    stream: 'streamMessage',
    resume: 'resumeGenerationEvents',
    status: 'getGeneration',
    cancel: 'cancelGeneration',
  },
  OwnerEventsController: { stream: 'streamOwnerEvents' },
  BranchesController: {
    regenerate: 'regenerateMessage',
    regenerateStream: 'streamRegeneratedMessage',
    edit: 'editMessage',
    editStream: 'streamEditedMessage',
  },
  ToolResultsController: { submit: 'submitToolResults', submitStream: 'streamToolResults' },
  ContextController: {
    preview: 'getContext',
    reset: 'resetContext',
    manifest: 'getMessageContext',
  },
  ModelsController: { list: 'listModelAliases' },
  FilesController: {
    upload: 'uploadFile',
    list: 'listUserFiles',
    get: 'getFile',
    content: 'getFileContent',
    delete: 'removeFile',
  },
  // OpenAI's own names for its Files API.
  OpenAiFilesController: {
    upload: 'createFile',
    list: 'listFiles',
    get: 'retrieveFile',
    content: 'downloadFile',
    delete: 'deleteFile',
  },
  OpenAiController: {
    create: 'createChatCompletion',
    listModels: 'listModels',
    getModel: 'retrieveModel',
  },
  ResponsesController: {
    create: 'createResponse',
    retrieve: 'getResponse',
    cancel: 'cancelResponse',
    delete: 'deleteResponse',
    inputItems: 'listInputItems',
  },
  // OpenAI's names, but for the conversation ones /api/v1 already holds.
  OpenAiConversationsController: {
    create: 'createOpenAiConversation',
    get: 'getOpenAiConversation',
    update: 'updateOpenAiConversation',
    delete: 'deleteOpenAiConversation',
    list: 'listConversationItems',
    add: 'createConversationItems',
    item: 'getConversationItem',
    deleteItem: 'deleteConversationItem',
  },
  HealthController: { live: 'getLiveness', ready: 'getReadiness' },
  MetricsController: { scrape: 'getMetrics' },
  LocalAuthController: {
    register: 'register',
    signIn: 'createToken',
    refresh: 'refreshToken',
    logout: 'logout',
  },
};

/** A route missing from OPERATION_IDS still gets a camelCase name (the e2e spec lists them all). */
function operationId(controller: string, method: string): string {
  const named = OPERATION_IDS[controller]?.[method];
  if (named) return named;
  const room = controller.replace(/Controller$/, '');
  return `${room.charAt(0).toLowerCase()}${room.slice(1)}${method.charAt(0).toUpperCase()}${method.slice(1)}`;
}

// The package does not export these interfaces by name.
type SecuritySchemeObject = NonNullable<Parameters<DocumentBuilder['addOAuth2']>[0]>;
type OperationObject = NonNullable<OpenAPIObject['paths'][string]['get']>;

const LOCAL_SCHEME = 'local';
const LOCAL_PASSWORD_FLOW: SecuritySchemeObject = {
  type: 'oauth2',
  description:
    'AUTH_MODE=local: sign in with a username and password (leave the client fields empty)',
  flows: { password: { tokenUrl: '/api/v1/auth/token', scopes: {} } },
};

/** Every operation that takes a bearer token also takes the one the password flow gets. */
function acceptLocalTokens(document: OpenAPIObject): void {
  for (const item of Object.values(document.paths)) {
    for (const operation of Object.values(item) as OperationObject[]) {
      const security = operation?.security;
      if (security?.some((requirement: Record<string, string[]>) => 'bearer' in requirement))
        security.push({ [LOCAL_SCHEME]: [] });
    }
  }
}
