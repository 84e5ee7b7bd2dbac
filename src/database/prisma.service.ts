import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import { Pool } from 'pg';

import { AppConfig } from '../config/app-config';
import { PrismaClient } from '../generated/prisma/client';
import { describeDatabaseError } from './database-errors';

@Injectable()
export class PrismaService extends PrismaClient implements OnModuleInit, OnApplicationShutdown {
  /** Ours, not the adapter's, so pool usage can be reported and the pool closed last. */
  readonly pool: Pool;

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
  }

  async onModuleInit(): Promise<void> {
    await this.$connect();
  }

  /** The last hook of shutdown, so turns draining before it can still store their replies. */
  async onApplicationShutdown(): Promise<void> {
    await this.$disconnect();
    await this.pool.end();
  }
}
