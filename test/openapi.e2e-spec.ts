import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { withTestApp } from './utils/harness';

const ROOT = path.resolve(__dirname, '..');

interface Parameter {
  name: string;
  in: string;
  required?: boolean;
}
interface Operation {
  parameters?: Parameter[];
  security?: unknown[];
  responses: Record<string, unknown>;
}
interface OpenApiDocument {
  servers?: { url: string }[];
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, { properties: Record<string, { type?: string }> }> };
}

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

  it('should serve Swagger UI with a CSP that does not upgrade http to https', async () => {
    const res = await t.http.get('/docs/').expect(200);
    expect(res.headers['content-security-policy']).not.toContain('upgrade-insecure-requests');
  });
});
