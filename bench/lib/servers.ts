import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';

import type { Pool } from 'pg';

import type { BenchDatabase } from './database';
import { Child, Children, freePort, logTail, waitForHttp } from './processes';
import type { Server } from './series';
import { MODEL } from './turns';

const ROOT = path.resolve(__dirname, '..', '..');
const BENCH = path.resolve(__dirname, '..');
/** Each server's database pool size: the same for the service and the floor. */
export const DB_POOL_SIZE = 20;

/** A server under test: the service or the floor, with the database it writes to. */
export interface Target {
  name: Server;
  label: string;
  /** Completed turns, to put CPU profiles per turn. */
  served: number;
  /** Inspector port, for servers whose memory is measured (see liveMemory). */
  inspectPort?: number;
  origin: string;
  child: Child;
  pool: Pool;
  database: string;
}

/** The upstreams' origins: the test suite's FakeLlmServer and the chunk-stamping server. */
export interface Upstreams {
  fake: string;
  stamp: string;
}

export interface ServersOptions {
  work: string;
  db: BenchDatabase;
  /** The pool each kind of server's database is read through (setup and counters). */
  pools: Record<Server, Pool>;
  /** Where each server writes its CPU profile (`--cpu-prof`), if asked. */
  profileDir?: string;
  /** Node flags every service process starts with (none unless asked). */
  serviceNodeFlags?: string[];
}

export interface StartOptions {
  /** Opens the inspector there, so the run can force a full GC (see liveMemory). */
  inspectPort?: number;
  /** Environment on top of the bench's own for this server (e.g. a lower limit). */
  env?: Record<string, string>;
}

/** Databases the servers write to, one per kind, created before anything starts. */
export const DATABASES: Record<Server, string> = {
  service: 'bench_service',
  floor: 'bench_floor',
};

/**
 * Starts the processes under test (and their upstreams) as children of the run, so they
 * are all stopped with it; remembers every server it started, in the order it started them.
 */
export class Servers {
  private readonly starting: Promise<Target>[] = [];

  constructor(
    private readonly children: Children,
    private readonly options: ServersOptions,
  ) {}

  async upstreams(latencyMs: number, tokenDelayMs: number): Promise<Upstreams> {
    const child = this.children.spawn(
      'upstreams',
      process.execPath,
      ['--import', 'tsx', path.join(BENCH, 'upstreams.ts')],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          BENCH_LATENCY_MS: String(latencyMs),
          BENCH_TOKEN_DELAY_MS: String(tokenDelayMs),
        },
        logPath: path.join(this.options.work, 'upstreams.log'),
        pipeStdout: true,
      },
    );
    return JSON.parse(await firstLine(child)) as Upstreams;
  }

  /** The service from its production build, its upstream at `upstream`. */
  service(label: string, upstream: string, options: StartOptions = {}): Promise<Target> {
    const args = [
      ...(this.options.serviceNodeFlags ?? []),
      ...this.nodeArgs(label, options.inspectPort),
      'dist/main.js',
    ];
    return this.track(
      this.start('service', label, args, options, 120_000, (port) =>
        serviceEnv({
          PORT: String(port),
          HOST: '127.0.0.1',
          DATABASE_URL: this.options.db.url(DATABASES.service),
          LMSTUDIO_BASE_URL: `${upstream}/v1`,
          LMSTUDIO_MODEL: MODEL,
          DEFAULT_MODEL: 'lmstudio/default',
          LOG_LEVEL: 'warn',
          DB_POOL_SIZE: String(DB_POOL_SIZE),
          SHUTDOWN_TIMEOUT_MS: '2000',
          // Limits meant for real users, not for one load generator acting as all of them.
          AUTH_MODE: 'none',
          RATE_LIMIT_PER_MINUTE: '1000000',
          MAX_CONCURRENT_GENERATIONS_PER_OWNER: '10000',
          MAX_CONVERSATIONS_PER_OWNER: '10000000',
          // Scenarios measure turns: a background title call per new conversation would add
          // upstream load that no scenario accounts for.
          TITLES: 'off',
          // The turn is measured here, not the summary jobs a conversation that outgrows its
          // window starts after it (the floor writes none): the summary scenario turns them on.
          SUMMARIES: 'off',
          ...options.env,
        }),
      ),
    );
  }

  /** The floor (floor-server.ts), its upstream at `upstream`. */
  floor(label: string, upstream: string, options: StartOptions = {}): Promise<Target> {
    return this.floorLike(label, 'floor-server.ts', upstream, options);
  }

  /**
   * A layer server (bench/layers/`script`): the floor's work behind the service's libraries,
   * started as the floor is, on the floor's database.
   */
  layer(
    label: string,
    script: string,
    upstream: string,
    options: StartOptions = {},
  ): Promise<Target> {
    return this.floorLike(label, path.join('layers', script), upstream, options);
  }

  /** A server run like the floor: `script` under bench/, the floor's database and env. */
  private floorLike(
    label: string,
    script: string,
    upstream: string,
    options: StartOptions,
  ): Promise<Target> {
    const scriptArgs = ['--import', 'tsx', path.join(BENCH, script)];
    const args = [...this.nodeArgs(label, options.inspectPort), ...scriptArgs];
    return this.track(
      this.start('floor', label, args, options, 60_000, (port) => ({
        ...process.env,
        NODE_ENV: 'production',
        PORT: String(port),
        DATABASE_URL: this.options.db.url(DATABASES.floor),
        UPSTREAM_BASE_URL: `${upstream}/v1`,
        UPSTREAM_MODEL: MODEL,
        DB_POOL_SIZE: String(DB_POOL_SIZE),
        ...options.env,
      })),
    );
  }

  /** Stops one server early (one a scenario started for itself); the run stops the rest. */
  async stop(target: Target): Promise<void> {
    await this.children.stop(target.child);
  }

  /** Every server that started, in the order they were asked for. */
  async started(): Promise<Target[]> {
    const settled = await Promise.allSettled(this.starting);
    return settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  }

  private track(target: Promise<Target>): Promise<Target> {
    this.starting.push(target);
    return target;
  }

  private async start(
    name: Server,
    label: string,
    args: string[],
    { inspectPort }: StartOptions,
    startTimeoutMs: number,
    env: (port: number) => NodeJS.ProcessEnv,
  ): Promise<Target> {
    const port = await freePort();
    const child = this.children.spawn(label, process.execPath, args, {
      cwd: ROOT,
      env: env(port),
      logPath: path.join(this.options.work, `${label}.log`),
    });
    const origin = `http://127.0.0.1:${port}`;
    await waitForHttp(`${origin}/health`, child, startTimeoutMs);
    const pool = this.options.pools[name];
    return { name, label, served: 0, inspectPort, origin, child, pool, database: DATABASES[name] };
  }

  private nodeArgs(label: string, inspectPort: number | undefined): string[] {
    const inspect = inspectPort === undefined ? [] : [`--inspect=127.0.0.1:${inspectPort}`];
    if (!this.options.profileDir) return inspect;
    const dir = path.join(this.options.profileDir, label);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    return ['--cpu-prof', `--cpu-prof-dir=${dir}`, ...inspect];
  }
}

/** The service's environment: everything it reads is set here, nothing inherited. */
function serviceEnv(vars: Record<string, string>): NodeJS.ProcessEnv {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(
      ([key]) =>
        !/^(PORT|HOST|DATABASE_URL|EMBEDDED_DB_|DB_POOL|DEFAULT_MODEL|GROQ_|LMSTUDIO_|MODELS_FILE|LLM_|LOG_|BODY_LIMIT|MESSAGE_MAX|SHUTDOWN_|TURN_CLAIM|GENERATION_MAX|SSE_|AUTH_|JWT_|API_KEYS|RATE_LIMIT|MAX_|CORS_|TRUST_PROXY|TITLE|RETENTION_|SUMMAR)/.test(
          key,
        ),
    ),
  );
  return { ...inherited, NODE_ENV: 'production', ...vars };
}

function firstLine(child: Child, timeoutMs = 60_000): Promise<string> {
  const stdout = child.process.stdout;
  if (!stdout) throw new Error(`${child.name} has no stdout pipe`);
  return new Promise((resolve, reject) => {
    const lines = readline.createInterface({ input: stdout });
    const timer = setTimeout(
      () => reject(new Error(`${child.name} did not start:\n${logTail(child.logPath)}`)),
      timeoutMs,
    );
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolve(line);
    });
    void child.exited.then(() =>
      reject(new Error(`${child.name} exited:\n${logTail(child.logPath)}`)),
    );
  });
}
