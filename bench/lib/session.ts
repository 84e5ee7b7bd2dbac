import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { Pool } from 'pg';

import { BenchDatabase } from './database';
import { Children } from './processes';
import { progress } from './progress';

/**
 * Everything one run owns: a work folder for the processes' logs, the processes, the
 * database and the pools on it. `close` stops all of it once, also on a signal.
 */
export class Session {
  readonly work = path.join(os.tmpdir(), `chat-bench-${randomBytes(4).toString('hex')}`);
  readonly children = new Children();
  private readonly pools: Pool[] = [];
  private database?: BenchDatabase;
  private cleaning?: Promise<void>;

  constructor() {
    mkdirSync(this.work, { recursive: true });
  }

  /** Stops everything on Ctrl-C and the like; kills the children if the process just exits. */
  handleSignals(): void {
    const onSignal = (signal: NodeJS.Signals): void => {
      progress(`${signal}: stopping everything (logs in ${this.work})`);
      void this.cleanup().finally(() => process.exit(130));
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    process.on('SIGHUP', onSignal);
    process.on('exit', () => this.children.killAllSync());
  }

  async startDatabase(names: string[]): Promise<BenchDatabase> {
    this.database = await BenchDatabase.start(names, progress);
    return this.database;
  }

  /** A small pool on one database of the run's PostgreSQL, ended with the run. */
  pool(url: string): Pool {
    const pool = new Pool({ connectionString: url, max: 4 });
    pool.on('error', () => undefined);
    this.pools.push(pool);
    return pool;
  }

  /** Stops everything; keeps the logs if the run failed. */
  async close(failed: boolean): Promise<void> {
    await this.cleanup();
    if (!failed) rmSync(this.work, { recursive: true, force: true });
    else progress(`logs kept in ${this.work}`);
  }

  private cleanup(): Promise<void> {
    return (this.cleaning ??= (async () => {
      await Promise.all(this.pools.map((pool) => pool.end().catch(() => undefined)));
      await this.children.stopAll();
      await this.database?.stop();
    })());
  }
}
