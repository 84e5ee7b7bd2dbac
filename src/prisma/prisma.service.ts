import { Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';

import { AppConfig } from '../config/app-config';
import { PrismaClient } from '../generated/prisma/client';

@Injectable()
export class PrismaService extends PrismaClient implements OnModuleInit, OnApplicationShutdown {
  constructor(config: AppConfig) {
    super({
      adapter: new PrismaPg({
        connectionString: config.databaseUrl,
        max: config.get('DB_POOL_SIZE'),
      }),
    });
  }

  async onModuleInit(): Promise<void> {
    await this.$connect();
  }

  /** The last hook of shutdown, so turns draining before it can still store their replies. */
  async onApplicationShutdown(): Promise<void> {
    await this.$disconnect();
  }
}
