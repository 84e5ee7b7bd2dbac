import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { FakeLlmServer } from './fake-llm/fake-llm-server';
import { AppProcess, removeDataDir, startAppProcess, tempDataDir } from './utils/app-process';
import { createTestDatabase, TestDatabase } from './utils/database';
import { freePort } from './utils/free-port';
import { ProductionBuild } from './utils/production-build';

type LogLine = Record<string, unknown> & { msg?: string };

function jsonLines(output: string): LogLine[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);
}

describe('Starting the service (node dist/main.js)', () => {
  let build: ProductionBuild;
  let fake: FakeLlmServer;

  beforeAll(async () => {
    build = ProductionBuild.start();
    fake = new FakeLlmServer();
    await fake.start();
  });

  afterAll(async () => {
    build?.stop();
    await fake?.stop();
  });

  describe('beside one already running', () => {
    const dataDir = tempDataDir();
    let dbPort: number;
    let first: AppProcess | undefined;
    let port: number;

    beforeAll(async () => {
      dbPort = await freePort();
      port = await freePort();
      first = await startAppProcess(build, {
        port,
        env: {
          EMBEDDED_DB_DIR: dataDir,
          EMBEDDED_DB_PORT: String(dbPort),
          LMSTUDIO_BASE_URL: fake.openAiBaseUrl,
        },
      });
      await first.waitUntilHealthy(90_000);
      // Logged once the providers have been probed, a moment after it listens.
      await first.waitForOutput(/"msg":"listening on/);
    }, 180_000);

    afterAll(async () => {
      first?.signalGroup('SIGTERM');
      await first?.exited;
      await removeDataDir(dataDir);
    }, 60_000);

    async function second(env: Record<string, string>, secondPort = port): Promise<string> {
      const app = await startAppProcess(build, { port: secondPort, env });
      try {
        expect((await app.exited).code).toBe(1);
        return app.output();
      } finally {
        app.kill();
      }
    }

    it('should log one summary line: where it listens, the database, and each provider', () => {
      const lines = jsonLines(first!.output());
      expect(lines.filter((l) => /Mapped \{|dependencies initialized/.test(l.msg ?? ''))).toEqual(
        [],
      );
      const summary = lines.filter((l) => l.msg?.startsWith('listening on'));
      expect(summary).toHaveLength(1);
      expect(summary[0].msg).toContain(`http://127.0.0.1:${port}`);
      expect(summary[0].msg).toContain(`embedded PostgreSQL on 127.0.0.1:${dbPort}`);
      expect(summary[0].msg).toContain('lmstudio: up');
      expect(summary[0].msg).toContain('groq: not configured');
    });

    it('should refuse to start on a port in use, saying so, and leave the running one alone', async () => {
      const output = await second({
        EMBEDDED_DB_DIR: dataDir,
        EMBEDDED_DB_PORT: String(dbPort),
      });
      expect(output).toContain(`Port ${port} on 127.0.0.1 is already in use`);
      expect(output).not.toContain('undefined');
      expect((await fetch(`${first!.url}/health/ready`)).status).toBe(200);
    });

    it('should refuse an embedded data directory in use, naming the PID that holds it', async () => {
      const output = await second(
        { EMBEDDED_DB_DIR: dataDir, EMBEDDED_DB_PORT: String(await freePort()) },
        await freePort(),
      );
      expect(output).toMatch(/data directory .* is locked by PID \d+/);
      expect((await fetch(`${first!.url}/api/v1/conversations`, { method: 'POST' })).status).toBe(
        201,
      );
    });
  });

  describe('after a kill -9', () => {
    const dataDir = tempDataDir();
    afterAll(() => removeDataDir(dataDir), 60_000);

    it('should stop the embedded PostgreSQL the killed service left running, and start afresh with its data', async () => {
      const env = {
        EMBEDDED_DB_DIR: dataDir,
        EMBEDDED_DB_PORT: String(await freePort()),
        LMSTUDIO_BASE_URL: fake.openAiBaseUrl,
      };
      const killed = await startAppProcess(build, { env });
      await killed.waitUntilHealthy(90_000);
      const created = await fetch(`${killed.url}/api/v1/conversations`, { method: 'POST' });
      const { id } = (await created.json()) as { id: string };
      killed.kill();
      await killed.exited;

      const next = await startAppProcess(build, { env });
      try {
        await next.waitUntilHealthy(90_000);
        expect(next.output()).toMatch(/stopped the embedded PostgreSQL \(PID \d+\) left running/);
        expect((await fetch(`${next.url}/api/v1/conversations/${id}`)).status).toBe(200);
      } finally {
        next.signalGroup('SIGTERM');
        await next.exited;
      }
    }, 240_000);
  });

  describe('with a .env file', () => {
    let db: TestDatabase;
    let dir: string;

    beforeAll(async () => {
      db = await createTestDatabase();
      dir = await mkdtemp(path.join(os.tmpdir(), 'chat-env-'));
    });

    afterAll(async () => {
      await db?.drop();
      await rm(dir, { recursive: true, force: true });
    });

    it('should read .env from the working directory, with environment variables winning', async () => {
      await writeFile(
        path.join(dir, '.env'),
        [
          '# as copied from .env.example and adjusted',
          `DATABASE_URL=${db.url}`,
          'LOG_PRETTY=true',
          'PORT=1',
          'LOG_LEVEL=silent',
        ].join('\n'),
      );
      const app = await startAppProcess(build, {
        cwd: dir,
        env: { LOG_LEVEL: 'info', LMSTUDIO_BASE_URL: fake.openAiBaseUrl },
      });
      try {
        // PORT and LOG_LEVEL from the environment, the database and LOG_PRETTY from the file.
        await app.waitUntilHealthy();
        await app.waitForOutput(/listening on/);
        const lines = app.output().split('\n').filter(Boolean);
        expect(lines.length).toBeGreaterThan(0);
        // Pretty everywhere, bootstrap lines included: no JSON line at all.
        expect(lines.filter((line) => line.startsWith('{'))).toEqual([]);
        app.signalGroup('SIGTERM');
        expect((await app.exited).code).toBe(0);
        expect(app.output()).toContain('stopped');
      } finally {
        app.kill();
      }
    }, 120_000);
  });

  describe('with a models file', () => {
    let dir: string;
    let keyed: FakeLlmServer;
    let db: TestDatabase;

    beforeAll(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'chat-models-'));
      keyed = new FakeLlmServer({ apiKey: 'sk-startup-key' });
      await keyed.start();
      db = await createTestDatabase();
    });

    afterAll(async () => {
      await keyed?.stop();
      await db?.drop();
      await rm(dir, { recursive: true, force: true });
    });

    async function modelsFile(content: unknown): Promise<string> {
      const file = path.join(dir, `models-${Math.random().toString(36).slice(2)}.json`);
      await writeFile(file, JSON.stringify(content));
      return file;
    }

    it('should refuse to start without the key a provider needs, naming every problem at once', async () => {
      const file = await modelsFile({
        providers: {
          keyed: {
            type: 'openai-compatible',
            baseUrl: keyed.openAiBaseUrl,
            apiKeyEnv: 'KEYED_KEY',
          },
        },
        models: [
          { alias: 'keyed/chat', provider: 'keyed', model: 'fake-model', contextWindow: 8192 },
          { alias: 'keyed/chat', provider: 'keyed', model: 'fake-model', contextWindow: 8192 },
          { alias: 'x/nowhere', provider: 'nowhere', contextWindow: 8192, fallbacks: ['x/gone'] },
        ],
      });
      const app = await startAppProcess(build, {
        env: { DATABASE_URL: db.url, MODELS_FILE: file },
      });
      try {
        expect((await app.exited).code).toBe(1);
        const output = app.output();
        expect(output).toContain('alias keyed/chat needs KEYED_KEY');
        expect(output).toContain('alias keyed/chat is defined twice');
        expect(output).toContain('names provider "nowhere"');
        expect(output).toContain('falls back to unknown alias "x/gone"');
        expect(output).not.toContain('listening on');
      } finally {
        app.kill();
      }
    }, 120_000);

    it('should start with the key set, and warn of a provider that does not answer', async () => {
      const file = await modelsFile({
        providers: {
          keyed: {
            type: 'openai-compatible',
            baseUrl: keyed.openAiBaseUrl,
            apiKeyEnv: 'KEYED_KEY',
          },
        },
        models: [
          { alias: 'keyed/chat', provider: 'keyed', model: 'fake-model', contextWindow: 8192 },
        ],
      });
      const app = await startAppProcess(build, {
        env: {
          DATABASE_URL: db.url,
          MODELS_FILE: file,
          KEYED_KEY: 'sk-startup-key',
          DEFAULT_MODEL: 'keyed/chat',
          LMSTUDIO_BASE_URL: 'http://127.0.0.1:9/v1',
        },
      });
      try {
        await app.waitForOutput(/listening on/);
        const summary = jsonLines(app.output()).find((l) => l.msg?.startsWith('listening on'));
        expect(summary).toMatchObject({ level: 40 });
        expect(summary?.msg).toContain('lmstudio: down');
        expect(summary?.msg).toContain('lmstudio may come up later');
        const id = (
          (await (await fetch(`${app.url}/api/v1/conversations`, { method: 'POST' })).json()) as {
            id: string;
          }
        ).id;
        const res = await fetch(`${app.url}/api/v1/conversations/${id}/messages`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ message: 'hi' }),
        });
        expect(res.status).toBe(201);
        expect(keyed.refusedKeys).toBe(0);
        app.signalGroup('SIGTERM');
        await app.exited;
      } finally {
        app.kill();
      }
    }, 120_000);
  });
});
