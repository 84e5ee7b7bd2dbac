import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

export interface Child {
  name: string;
  pid: number;
  process: ChildProcess;
  logPath: string;
  /** Resolves with the exit code (or signal name) when the process ends. */
  exited: Promise<string>;
  hasExited(): boolean;
}

export interface SpawnOptions {
  env: NodeJS.ProcessEnv;
  logPath: string;
  cwd: string;
  /** Keep stdout as a pipe (for a child that reports its addresses there). */
  pipeStdout?: boolean;
}

/**
 * The processes the benchmark starts. Each runs in a process group of its own, so a stop
 * reaches whatever it spawned, and a terminal's Ctrl-C (sent to our group) does not race
 * our own orderly cleanup.
 */
export class Children {
  private readonly children: Child[] = [];

  spawn(name: string, command: string, args: string[], options: SpawnOptions): Child {
    const log = openSync(options.logPath, 'a');
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: ['ignore', options.pipeStdout ? 'pipe' : log, log],
    });
    closeSync(log);
    if (child.pid === undefined) throw new Error(`could not start ${name}`);
    let done = false;
    const exited = new Promise<string>((resolve) => {
      child.on('exit', (code, signal) => {
        done = true;
        resolve(String(code ?? signal));
      });
      child.on('error', (error) => {
        done = true;
        resolve(`error: ${error.message}`);
      });
    });
    const handle: Child = {
      name,
      pid: child.pid,
      process: child,
      logPath: options.logPath,
      exited,
      hasExited: () => done,
    };
    this.children.push(handle);
    return handle;
  }

  /** SIGTERM to each group, then SIGKILL to whatever has not exited after `graceMs`. */
  async stopAll(graceMs = 5000): Promise<void> {
    const running = this.children.filter((child) => !child.hasExited());
    for (const child of running) signalGroup(child.pid, 'SIGTERM');
    await Promise.all(
      running.map(async (child) => {
        const timer = new Promise<'timeout'>((resolve) =>
          setTimeout(() => resolve('timeout'), graceMs).unref(),
        );
        if ((await Promise.race([child.exited, timer])) === 'timeout') {
          signalGroup(child.pid, 'SIGKILL');
          await child.exited;
        }
      }),
    );
  }

  async stop(child: Child, graceMs = 5000): Promise<void> {
    if (child.hasExited()) return;
    signalGroup(child.pid, 'SIGTERM');
    const timer = new Promise<'timeout'>((resolve) =>
      setTimeout(() => resolve('timeout'), graceMs).unref(),
    );
    if ((await Promise.race([child.exited, timer])) === 'timeout') {
      signalGroup(child.pid, 'SIGKILL');
      await child.exited;
    }
  }

  /** Last resort, synchronous (for process 'exit'). */
  killAllSync(): void {
    for (const child of this.children) if (!child.hasExited()) signalGroup(child.pid, 'SIGKILL');
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

export function logTail(path: string, lines = 30): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Polls `url` until it answers 200; fails early, with the log's tail, if `child` exits. */
export async function waitForHttp(url: string, child: Child, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.hasExited()) {
      throw new Error(`${child.name} exited while starting:\n${logTail(child.logPath)}`);
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      throw new Error(`${child.name} did not answer ${url} in time:\n${logTail(child.logPath)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Resident set size of a process, in bytes (VmRSS from /proc). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /VmRSS:\s+(\d+)\s+kB/.exec(status);
  if (!match) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) * 1024;
}

export { freePort } from '../../test/utils/free-port';

/** CPU time (user + system) a process has used so far, in ms (/proc reports 1/100 s ticks). */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of stat(5), counted after the command name ends at field 2.
  return (Number(fields[11]) + Number(fields[12])) * 10;
}
