import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import { Pool } from 'pg';

import { AppConfig } from '../config/app-config';
import { PrismaClient } from '../generated/prisma/client';
import { describeDatabaseError } from '../common/errors/database-errors';

/**
 * The database pool, and the Prisma client over it. The service's queries are Kysely on the
 * pool (src/database/db.ts); the client is never connected at start-up, since `$connect`
 * loads Prisma's query compiler (WebAssembly, ~40 MB of resident memory) that nothing at
 * run time uses: code that does call the client (tests, scripts) connects it on first use.
 */
@Injectable()
export class PrismaService extends PrismaClient implements OnApplicationShutdown {
  /** Ours, not the adapter's, so pool usage can be reported and the pool closed last. */
  readonly pool: Pool;
  /** Connections whose socket is open: the pool forgets one before its socket has closed. */
  private open = 0;
  private onAllClosed?: () => void;

  constructor(config: AppConfig) {
    const pool = new Pool({
      connectionString: config.databaseUrl,
      max: config.get('DB_POOL_SIZE'),
    });
    super({ adapter: new PrismaPg(pool) });
    this.pool = pool;
    // An idle client whose server went away must never crash the process (an unhandled
    // 'error' event would, dumping the client, secrets included); the pool replaces it.
    const logger = new Logger(PrismaService.name);
    pool.on('error', (error) =>
      logger.warn(`idle database connection lost: ${describeDatabaseError(error)}`),
    );
    pool.on('connect', () => this.open++);
    pool.on('remove', () => {
      if (--this.open === 0) this.onAllClosed?.();
    });
  }

  /**
   * The last hook of shutdown, so turns draining before it can still store their replies.
   * Returns once every connection's socket has closed: `pool.end()` resolves when it has
   * asked them to close, and a database stopped in that moment (the embedded one is stopped
   * right after) ends the sessions still open with an error each (57P01).
   */
  async onApplicationShutdown(): Promise<void> {
    await this.$disconnect();
    const closed = new Promise<void>((resolve) => {
      this.onAllClosed = resolve;
      if (this.open === 0) resolve();
    });
    await this.pool.end();
    await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
  }
}
