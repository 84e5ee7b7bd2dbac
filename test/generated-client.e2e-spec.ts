import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { pathToFileURL } from 'node:url';

import ts from 'typescript';

import { withTestApp } from './utils/harness';

const ROOT = path.resolve(__dirname, '..');
const run = promisify(execFile);

/**
 * openapi-typescript's Node API, in a process of its own: the package and its dependencies
 * are ES modules, which Jest's module system does not load.
 */
async function generateTypes(document: string, out: string): Promise<void> {
  const api = pathToFileURL(require.resolve('openapi-typescript')).href.replace(
    /index\.cjs$/,
    'index.mjs',
  );
  const script = `
    import { readFileSync, writeFileSync } from 'node:fs';
    import openapiTS, { astToString } from ${JSON.stringify(api)};
    const ast = await openapiTS(readFileSync(process.argv[1], 'utf8'));
    writeFileSync(process.argv[2], astToString(ast));`;
  await run(process.execPath, ['--input-type=module', '-e', script, document, out]);
}

const UNKNOWN_ID = '01936f3e-8a4c-7b1e-9d2a-3c4b5d6e7f80';

/**
 * A frontend's program, written against the generated types only: every name it uses
 * (paths, bodies, the error code union, the stream's event union) comes from /docs-json.
 */
const CLIENT = `
import createClient from 'openapi-fetch';
import type { components, operations, paths } from './api';

type ErrorCode = components['schemas']['ErrorCode'];
type StreamEvent =
  operations['streamMessage']['responses'][200]['content']['text/event-stream'];

/** Every event type handled, checked by the compiler (a missing case fails under strict). */
function textOf(event: StreamEvent): string {
  switch (event.event) {
    case 'message.delta':
      return event.data.delta;
    case 'message.created':
    case 'message.reasoning':
    case 'message.completed':
    case 'tool.call':
    case 'tool.result':
    case 'conversation.updated':
    case 'error':
      return '';
  }
}

/** SSE frames (id:, event:, data:) as the typed union. */
function parseFrames(text: string): StreamEvent[] {
  return text
    .split('\\n\\n')
    .filter((block) => block.includes('data:'))
    .map((block) => {
      const field = (name: string) =>
        block.split('\\n').find((line) => line.startsWith(name + ':'))?.slice(name.length + 1).trim() ?? '';
      return { id: field('id'), event: field('event'), data: JSON.parse(field('data')) } as StreamEvent;
    });
}

async function main(baseUrl: string): Promise<void> {
  const client = createClient<paths>({ baseUrl });
  const created = await client.POST('/api/v1/conversations', {
    body: { title: 'Generated client', systemPrompt: 'Be brief.' },
  });
  if (!created.data) throw new Error('create: ' + JSON.stringify(created.error));
  const id: string = created.data.id;

  const sent = await client.POST('/api/v1/conversations/{id}/messages', {
    params: { path: { id } },
    body: { message: 'hello' },
  });
  if (!sent.data) throw new Error('send: ' + JSON.stringify(sent.error));
  const reply: string = sent.data.response;

  const streamed = await client.POST('/api/v1/conversations/{id}/messages/stream', {
    params: { path: { id } },
    body: { message: 'again' },
    parseAs: 'text',
  });
  const events = parseFrames(streamed.data ?? '');

  const listed = await client.GET('/api/v1/conversations/{id}/messages', {
    params: { path: { id }, query: { limit: 10 } },
  });
  if (!listed.data) throw new Error('list: ' + JSON.stringify(listed.error));
  const roles: string[] = listed.data.data.map((message) => message.role);

  const missing = await client.GET('/api/v1/conversations/{id}', {
    params: { path: { id: '${UNKNOWN_ID}' } },
  });
  const code: ErrorCode | undefined = missing.error?.error;

  process.stdout.write(
    JSON.stringify({
      reply,
      streamed: events.map(textOf).join(''),
      eventTypes: events.map((event) => event.event),
      roles,
      status: missing.response.status,
      code,
    }),
  );
}

main(process.argv[2] ?? 'http://localhost:3000').catch((error: unknown) => {
  process.stderr.write(String(error) + '\\n');
  process.exit(1);
});
`;

describe('A client generated from /docs-json (openapi-typescript + openapi-fetch)', () => {
  const t = withTestApp({});
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'chat-generated-client-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('should compile strictly and hold a conversation unedited', async () => {
    const document = (await t.http.get('/docs-json').expect(200)).text;
    await writeFile(path.join(dir, 'openapi.json'), document);
    await generateTypes(path.join(dir, 'openapi.json'), path.join(dir, 'api.ts'));
    await writeFile(path.join(dir, 'client.ts'), CLIENT);

    const program = ts.createProgram([path.join(dir, 'client.ts')], {
      strict: true,
      noUncheckedIndexedAccess: true,
      noImplicitReturns: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.CommonJS,
      moduleResolution: ts.ModuleResolutionKind.Node10,
      esModuleInterop: true,
      skipLibCheck: false,
      types: ['node'],
      typeRoots: [path.join(ROOT, 'node_modules/@types')],
      baseUrl: ROOT,
      paths: { 'openapi-fetch': ['node_modules/openapi-fetch/dist/index'] },
      outDir: dir,
    });
    const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => {
      const where =
        d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : undefined;
      const at = d.file ? `${path.basename(d.file.fileName)}:${(where?.line ?? 0) + 1}: ` : '';
      return at + ts.flattenDiagnosticMessageText(d.messageText, '\n');
    });
    expect(diagnostics).toEqual([]);
    expect(program.emit().emitSkipped).toBe(false);

    const { stdout } = await run(process.execPath, [path.join(dir, 'client.js'), t.url], {
      env: { ...process.env, NODE_PATH: path.join(ROOT, 'node_modules') },
      timeout: 20_000,
    });
    const result = JSON.parse(stdout) as Record<string, unknown>;
    expect(result).toEqual({
      reply: expect.stringContaining('hello'),
      streamed: expect.stringContaining('again'),
      eventTypes: expect.arrayContaining(['message.created', 'message.delta', 'message.completed']),
      roles: ['user', 'assistant', 'user', 'assistant'],
      status: 404,
      code: 'conversation_not_found',
    });
  });
});
