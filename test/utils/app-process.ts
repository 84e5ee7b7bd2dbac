import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { freePort } from './free-port';
import { ProductionBuild } from './production-build';

export interface AppProcess {
  child: ChildProcess;
  /** Origin it serves, e.g. http://127.0.0.1:41234 */
  url: string;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves once its output matches. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Resolves once /health answers 200. */
  waitUntilHealthy(timeoutMs?: number): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends a signal to its whole process group, as a terminal's Ctrl-C does. */
  signalGroup(signal: NodeJS.Signals): void;
  /** SIGKILLs the group if it still runs. */
  kill(): void;
}

export interface StartAppProcessOptions {
  env?: Record<string, string>;
  /** Default: the build's stand-in repository root, as `npm start` runs from the checkout. */
  cwd?: string;
  port?: number;
}

/**
 * Runs `node dist/main.js` of the production build in its own process group (like a shell
 * job), with only the given environment on top of PATH and HOME, so the developer's
 * settings stay out.
 */
export async function startAppProcess(
  build: ProductionBuild,
  options: StartAppProcessOptions = {},
): Promise<AppProcess> {
  await build.ready();
  const port = options.port ?? (await freePort());
  const child = spawn(process.execPath, [build.main], {
    cwd: options.cwd ?? build.root,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'info',
      TITLES: 'off',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  const listeners = new Set<() => void>();
  const collect = (chunk: Buffer): void => {
    output += chunk.toString();
    for (const listener of listeners) listener();
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const url = `http://127.0.0.1:${port}`;
  const alive = (): boolean => child.exitCode === null && child.signalCode === null;
  return {
    child,
    url,
    output: () => output,
    exited,
    waitForOutput: (pattern, timeoutMs = 60_000) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          if (!pattern.test(output)) return;
          done();
          resolve();
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no output matching ${pattern} in ${timeoutMs} ms:\n${output}`));
        }, timeoutMs);
        const done = (): void => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      }),
    waitUntilHealthy: async (timeoutMs = 60_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const ok = await fetch(`${url}/health`).then(
          (r) => r.ok,
          () => false,
        );
        if (ok) return;
        if (!alive() || Date.now() > deadline)
          throw new Error(`the app did not become healthy:\n${output}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    signalGroup: (signal) => process.kill(-child.pid!, signal),
    kill: () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // Already gone.
      }
    },
  };
}

/**
 * A folder for an embedded PostgreSQL data directory. Not mkdtemp: its 0700 folder would
 * shut out the postgres user the server runs as under root.
 */
export function tempDataDir(): string {
  return path.join(os.tmpdir(), `chat-e2e-pg-${randomBytes(6).toString('hex')}`);
}

/**
 * Stops a PostgreSQL left running in `dataDir` (its postmaster runs in its own session, so
 * killing the app's process group does not reach it) and removes the folder.
 */
export async function removeDataDir(dataDir: string): Promise<void> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').split('\n')[0]) : NaN;
  if (Number.isInteger(pid) && pid > 0) {
    try {
      process.kill(pid, 'SIGQUIT');
      for (let i = 0; i < 100 && existsSync(pidFile); i++)
        await new Promise((r) => setTimeout(r, 50));
    } catch {
      // Not running.
    }
  }
  await rm(dataDir, { recursive: true, force: true });
  await rm(`${dataDir}.owner`, { force: true });
}
