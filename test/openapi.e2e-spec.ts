import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { ResumeQueryDto } from '../src/chat/dto/resume-query.dto';
import { ERROR_CODES } from '../src/common/errors/error-codes';
import { ListConversationsQueryDto } from '../src/conversations/dto/list-conversations.query';
import { AccountExportQueryDto } from '../src/conversations/export/dto/account-export-query.dto';
import { ExportQueryDto } from '../src/conversations/export/dto/export-query.dto';
import { MessagesQueryDto } from '../src/messages/dto/messages-query.dto';
import { withTestApp } from './utils/harness';

const ROOT = path.resolve(__dirname, '..');

interface Schema {
  type?: string;
  $ref?: string;
  enum?: unknown[];
  oneOf?: Schema[];
  allOf?: Schema[];
  items?: Schema;
  example?: unknown;
  default?: unknown;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  required?: string[];
  discriminator?: { propertyName: string; mapping?: Record<string, string> };
}
interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  example?: unknown;
  schema?: Schema;
}
interface MediaType {
  schema?: Schema;
  example?: unknown;
}
interface Response {
  description?: string;
  content?: Record<string, MediaType>;
}
interface Operation {
  operationId?: string;
  parameters?: Parameter[];
  security?: unknown[];
  responses: Record<string, Response>;
}
interface OpenApiDocument {
  servers?: { url: string }[];
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema & { properties: Record<string, Schema> }> };
}

const STREAM_EVENTS = [
  'message.created',
  'message.reasoning',
  'message.delta',
  'tool.call',
  'tool.result',
  'message.completed',
  'conversation.updated',
  'error',
];
const OWNER_EVENTS = [
  'conversation.created',
  'conversation.updated',
  'conversation.deleted',
  'turn.started',
  'turn.finished',
];

describe('OpenAPI document (/docs-json)', () => {
  const t = withTestApp({ fake: false });
  let doc: OpenApiDocument;

  beforeAll(async () => {
    doc = (await t.http.get('/docs-json').expect(200)).body as OpenApiDocument;
  });

  const operations = (): [string, Operation][] =>
    Object.entries(doc.paths).flatMap(([p, ops]) =>
      Object.entries(ops).map(([method, op]): [string, Operation] => [`${method} ${p}`, op]),
    );

  it('should list each header once, and Idempotency-Key and Last-Event-ID as optional', () => {
    const headers = operations().flatMap(([name, op]) =>
      (op.parameters ?? [])
        .filter((p) => p.in === 'header')
        .map((p) => ({ operation: name, header: p.name, required: p.required ?? false })),
    );
    expect(headers).toEqual(
      expect.arrayContaining([
        {
          operation: 'post /api/v1/conversations/{id}/messages',
          header: 'Idempotency-Key',
          required: false,
        },
        {
          operation: 'post /api/v1/conversations/{id}/messages/stream',
          header: 'Idempotency-Key',
          required: false,
        },
        {
          operation: 'get /api/v1/conversations/{id}/generation/events',
          header: 'Last-Event-ID',
          required: false,
        },
      ]),
    );
    const seen = headers.map((h) => `${h.operation} ${h.header.toLowerCase()}`);
    expect(seen).toEqual([...new Set(seen)]);
    expect(headers.filter((h) => h.required)).toEqual([]);
  });

  it('should type UpdateConversationDto.systemPrompt as a string', () => {
    expect(doc.components.schemas.UpdateConversationDto.properties.systemPrompt.type).toBe(
      'string',
    );
  });

  it('should name a server and mark the public routes as needing no credentials', () => {
    expect(doc.servers?.length).toBeGreaterThan(0);
    for (const route of ['get /health', 'get /health/ready', 'get /metrics']) {
      expect([route, operations().find(([name]) => name === route)?.[1].security]).toEqual([
        route,
        [],
      ]);
    }
  });

  it('should document a 4xx answer on every operation that takes input or credentials', () => {
    const without = operations()
      .filter(([, op]) => !Object.keys(op.responses).some((status) => status.startsWith('4')))
      .map(([name]) => name);
    // Redocly's operation-4xx-response is off for these (redocly.yaml).
    expect(without.sort()).toEqual(['get /health', 'get /health/ready', 'get /metrics']);
  });

  it('should pass Redocly lint with the repository configuration', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'chat-openapi-'));
    try {
      const file = path.join(dir, 'openapi.json');
      await writeFile(file, JSON.stringify(doc));
      const lint = await promisify(execFile)(
        process.execPath,
        [require.resolve('@redocly/cli/bin/cli.js'), 'lint', file, '--format=stylish'],
        { cwd: ROOT, env: { ...process.env, REDOCLY_TELEMETRY: 'off' } },
      ).catch((error: { stdout: string; stderr: string }) => error);
      expect(`${lint.stdout}\n${lint.stderr}`).toContain('Woohoo! Your API description is valid');
      expect(lint.stdout + lint.stderr).not.toMatch(/\d+:\d+ +(warning|error) /);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  const operation = (name: string): Operation => {
    const found = operations().find(([key]) => key === name)?.[1];
    if (!found) throw new Error(`no operation ${name}`);
    return found;
  };
  const resolve = (schema: Schema | undefined): Schema => {
    const ref = schema?.$ref ?? (schema?.allOf?.length === 1 ? schema.allOf[0].$ref : undefined);
    return ref ? doc.components.schemas[ref.replace('#/components/schemas/', '')] : (schema ?? {});
  };

  it('should name every operation by its domain verb, each name once', () => {
    const ids = operations().map(([name, op]) => [name, op.operationId]);
    expect(ids.filter(([, id]) => !id || !/^[a-z][A-Za-z]+$/.test(id))).toEqual([]);
    expect(Object.fromEntries(ids)).toMatchObject({
      'post /api/v1/conversations': 'createConversation',
      'get /api/v1/conversations': 'listConversations',
      'get /api/v1/conversations/{id}': 'getConversation',
      'patch /api/v1/conversations/{id}': 'updateConversation',
      'delete /api/v1/conversations/{id}': 'deleteConversation',
      'get /api/v1/conversations/{id}/export': 'exportConversation',
      'get /api/v1/export': 'exportAccount',
      'get /api/v1/conversations/{id}/messages': 'listMessages',
      'post /api/v1/conversations/{id}/messages': 'sendMessage',
      'post /api/v1/conversations/{id}/messages/stream': 'streamMessage',
      'post /api/v1/conversations/{id}/messages/{messageId}/regenerate': 'regenerateMessage',
      'post /api/v1/conversations/{id}/messages/{messageId}/regenerate/stream':
        'streamRegeneratedMessage',
      'post /api/v1/conversations/{id}/messages/{messageId}/edit': 'editMessage',
      'post /api/v1/conversations/{id}/messages/{messageId}/edit/stream': 'streamEditedMessage',
      'post /api/v1/conversations/{id}/messages/{messageId}/tool-results': 'submitToolResults',
      'post /api/v1/conversations/{id}/messages/{messageId}/tool-results/stream':
        'streamToolResults',
      'post /v1/chat/completions': 'createChatCompletion',
      'get /v1/models': 'listModels',
      'get /v1/models/{id}': 'retrieveModel',
      'get /api/v1/models': 'listModelAliases',
      'get /api/v1/events': 'streamOwnerEvents',
    });
    const names = ids.map(([, id]) => id);
    expect(names).toEqual([...new Set(names)]);
  });

  it('should type the error code as the catalogue of codes', () => {
    const error = doc.components.schemas.ErrorResponseDto.properties.error;
    expect(resolve(error).enum).toEqual(Object.keys(ERROR_CODES));
    const streamError = resolve(doc.components.schemas.ChatErrorEventDto.properties.data);
    expect(resolve(streamError.properties?.code).enum).toEqual(Object.keys(ERROR_CODES));
  });

  it('should give every success answer a schema, streams one per event type', () => {
    const untyped = operations().flatMap(([name, op]) =>
      Object.entries(op.responses)
        .filter(([status]) => status.startsWith('2') && status !== '204')
        .flatMap(([status, response]) =>
          Object.entries(response.content ?? { none: {} })
            .filter(([, media]) => !media.schema || Object.keys(resolve(media.schema)).length === 0)
            .map(([type]) => `${name} ${status} ${type}`),
        ),
    );
    expect(untyped).toEqual([]);

    const streams = operations().filter(
      ([, op]) => op.responses['200']?.content?.['text/event-stream'],
    );
    expect(streams.map(([name]) => name).sort()).toEqual(
      [
        'get /api/v1/conversations/{id}/generation/events',
        'get /api/v1/events',
        'post /api/v1/conversations/{id}/messages/stream',
        'post /api/v1/conversations/{id}/messages/{messageId}/edit/stream',
        'post /api/v1/conversations/{id}/messages/{messageId}/regenerate/stream',
        'post /api/v1/conversations/{id}/messages/{messageId}/tool-results/stream',
        'post /v1/chat/completions',
        'post /v1/responses',
        'get /v1/responses/{id}',
      ].sort(),
    );
    for (const [name, op] of streams.filter(
      ([name]) => name.startsWith('post /api') || name.startsWith('get /api'),
    )) {
      const stream = resolve(op.responses['200'].content!['text/event-stream'].schema);
      const events = (stream.oneOf ?? []).map((ref) => {
        const event = resolve(ref);
        expect([name, ref.$ref]).toEqual([
          name,
          expect.stringMatching(/^#\/components\/schemas\//),
        ]);
        expect(event.required).toEqual(expect.arrayContaining(['id', 'event', 'data']));
        expect(Object.keys(resolve(event.properties?.data).properties ?? {})).not.toEqual([]);
        return event.properties?.event.enum?.[0];
      });
      const expected = name === 'get /api/v1/events' ? OWNER_EVENTS : STREAM_EVENTS;
      expect([name, events.sort()]).toEqual([name, [...expected].sort()]);
      expect(stream.discriminator?.propertyName).toBe('event');
      expect(op.responses['200'].description).toMatch(/id:.*event:.*data:/s);
    }
  });

  it('should type the export as JSON for json and as text for markdown', () => {
    const content = operation('get /api/v1/conversations/{id}/export').responses['200'].content!;
    const json = resolve(content['application/json'].schema);
    expect(Object.keys(json.properties ?? {}).sort()).toEqual([
      'conversation',
      'files',
      'messages',
    ]);
    expect(json.required).toEqual(['conversation', 'messages']);
    const include = operation('get /api/v1/conversations/{id}/export').parameters!.find(
      (p) => p.name === 'include',
    );
    expect(include?.schema).toMatchObject({ enum: ['files'] });
    expect(content['text/markdown'].schema).toEqual({ type: 'string' });
  });

  it('should type the account export as the conversations, each as its own export', () => {
    const content = operation('get /api/v1/export').responses['200'].content!;
    const json = resolve(content['application/json'].schema);
    expect(Object.keys(json.properties ?? {}).sort()).toEqual([
      'conversations',
      'exportedAt',
      'files',
    ]);
    expect(json.required?.sort()).toEqual(['conversations', 'exportedAt']);
    const entry = resolve(json.properties!.conversations.items);
    expect(Object.keys(entry.properties ?? {}).sort()).toEqual(['conversation', 'messages']);
    expect(content['text/markdown'].schema).toEqual({ type: 'string' });
    expect(Object.keys(operation('get /api/v1/export').responses)).toEqual(
      expect.arrayContaining(['200', '400', '401']),
    );
  });

  it('should type the readiness checks as a map of checks', () => {
    const checks = doc.components.schemas.ReadinessDto.properties.checks;
    expect(checks.additionalProperties).toEqual({ $ref: '#/components/schemas/CheckDto' });
  });

  it('should list 413 on the OpenAI-compatible completions', () => {
    expect(Object.keys(operation('post /v1/chat/completions').responses)).toContain('413');
  });

  it('should prefill no optional query parameter with a value other than its default', () => {
    const prefilled = operations().flatMap(([name, op]) =>
      (op.parameters ?? [])
        .filter((p) => p.in === 'query' && !p.required)
        .filter((p) => {
          const example = p.example ?? p.schema?.example;
          return example !== undefined && example !== p.schema?.default;
        })
        .map((p) => `${name} ?${p.name}`),
    );
    expect(prefilled).toEqual([]);
  });

  it("should document each query parameter's default as the code's default", () => {
    const queries: [string, object][] = [
      ['get /api/v1/conversations', new ListConversationsQueryDto()],
      ['get /api/v1/conversations/{id}/messages', new MessagesQueryDto()],
      ['get /api/v1/conversations/{id}/export', new ExportQueryDto()],
      ['get /api/v1/export', new AccountExportQueryDto()],
      ['get /api/v1/conversations/{id}/generation/events', new ResumeQueryDto()],
    ];
    for (const [name, defaults] of queries) {
      const parameters = (operation(name).parameters ?? []).filter((p) => p.in === 'query');
      expect(parameters.length).toBeGreaterThan(0);
      for (const p of parameters) {
        const code = (defaults as Record<string, unknown>)[p.name];
        expect([name, p.name, p.schema?.default]).toEqual([name, p.name, code]);
      }
    }
  });

  it('should give model examples that work without a provider key', async () => {
    const models = (await t.http.get('/api/v1/models').expect(200)).body as {
      data: { alias: string; default: boolean }[];
    };
    const keyless = models.data.find((m) => m.default)?.alias;
    expect(keyless).toBe('lmstudio/default');
    const examples = Object.entries(doc.components.schemas).flatMap(([name, schema]) =>
      Object.entries(schema.properties ?? {})
        .filter(([property, value]) => property === 'model' && value.example !== undefined)
        .map(([, value]) => [name, value.example]),
    );
    const modelParameter = operation('get /v1/models/{id}').parameters?.find(
      (p) => p.name === 'id',
    );
    examples.push(['ModelIdParam', modelParameter?.example ?? modelParameter?.schema?.example]);
    expect(examples.length).toBeGreaterThan(4);
    expect(examples.filter(([, example]) => example !== keyless)).toEqual([]);
  });

  it('should serve Swagger UI with a CSP that does not upgrade http to https', async () => {
    const res = await t.http.get('/docs/').expect(200);
    expect(res.headers['content-security-policy']).not.toContain('upgrade-insecure-requests');
  });
});
