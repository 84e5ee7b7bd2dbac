import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { startAppProcess } from './utils/app-process';
import { createTestDatabase, TestDatabase } from './utils/database';
import { CLOSED_PROVIDER_URL, waitUntil } from './utils/harness';
import { ProductionBuild } from './utils/production-build';

const ROOT = path.resolve(__dirname, '..');
const STDIO_SERVER = path.join(ROOT, 'test/mcp/stdio-server.ts');

const stdio = (...flags: string[]) => ({
  command: process.execPath,
  args: ['--import', 'tsx', STDIO_SERVER, ...flags],
  cwd: ROOT,
});

/** Processes whose parent is `pid` (from /proc). */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        // "pid (comm) state ppid …": comm may hold spaces, so read after its closing paren.
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('Starting the service with MCP servers (node dist/main.js)', () => {
  let build: ProductionBuild;
  let db: TestDatabase;
  let dir: string;

  beforeAll(async () => {
    build = ProductionBuild.start();
    db = await createTestDatabase();
    dir = await mkdtemp(path.join(os.tmpdir(), 'mcp-startup-'));
  });

  afterAll(async () => {
    build?.stop();
    await db?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  async function serversFile(content: unknown): Promise<string> {
    const file = path.join(dir, `servers-${Math.random().toString(36).slice(2)}.json`);
    await writeFile(file, JSON.stringify(content));
    return file;
  }

  it('should refuse to start with a broken MCP_SERVERS_FILE, naming every problem', async () => {
    const file = await serversFile({
      mcpServers: {
        nothing: { args: ['x'] },
        secret: { url: 'http://x/mcp', headers: { A: '${NO_SUCH_VAR}' } },
      },
    });
    const app = await startAppProcess(build, {
      env: { DATABASE_URL: db.url, MCP_SERVERS_FILE: file },
    });
    try {
      expect((await app.exited).code).toBe(1);
      const output = app.output();
      expect(output).toContain(`MCP_SERVERS_FILE=${file}: mcpServers.nothing: needs "command"`);
      expect(output).toContain('mcpServers.secret.headers.A: ${NO_SUCH_VAR} is unset');
      expect(output).not.toContain('listening on');
    } finally {
      app.kill();
    }
  }, 180_000);

  it('should listen without waiting for MCP servers, and stop them on SIGTERM', async () => {
    const file = await serversFile({
      mcpServers: { local: stdio(), stuck: stdio('--hang-on-start') },
    });
    const app = await startAppProcess(build, {
      env: { DATABASE_URL: db.url, MCP_SERVERS_FILE: file, LMSTUDIO_BASE_URL: CLOSED_PROVIDER_URL },
    });
    try {
      await app.waitForOutput(/listening on/, 120_000);
      const checks = async (): Promise<Record<string, { status: string; tools?: number }>> => {
        const res = await fetch(`${app.url}/health/ready`);
        expect(res.status).toBe(200);
        return ((await res.json()) as { checks: Record<string, { status: string }> }).checks;
      };
      // A server that never answers initialize leaves readiness green and says it is starting.
      expect((await checks())['mcp:stuck']).toMatchObject({ status: 'starting', tools: 0 });
      await waitUntil(async () => (await checks())['mcp:local'].status === 'up', 60_000);
      const servers = childrenOf(app.child.pid!);
      expect(servers).toHaveLength(2);

      const stopping = performance.now();
      // The service alone (not its process group): stopping the servers is its job.
      process.kill(app.child.pid!, 'SIGTERM');
      expect(await app.exited).toEqual({ code: 0, signal: null });
      // The hung server is given up at once, not after its 60 s start timeout.
      expect(performance.now() - stopping).toBeLessThan(15_000);
      await waitUntil(() => servers.every((pid) => !isAlive(pid)), 5000);
    } finally {
      app.kill();
    }
  }, 240_000);
});
