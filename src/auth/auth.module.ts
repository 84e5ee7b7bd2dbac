import { DynamicModule, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';

import { AppConfig } from '../config/app-config';
import { Db } from '../database/db';
import { AuthFailureLimiter } from './auth-failure-limiter';
import { AuthController } from './auth.controller';
import { AuthGuard } from './auth.guard';
import { AuthService } from './auth.service';
import { LocalAuthModule } from './local/local-auth.module';
import { OwnerThrottlerGuard } from './owner-throttler.guard';
import { MemoryThrottlerStorage } from './memory-throttler.storage';
import { PostgresThrottlerStorage } from './postgres-throttler.storage';

@Module({})
export class AuthModule {
  /**
   * Guards run in this order: who is asking, then how often they may. The limiter counts
   * in memory, or in PostgreSQL for replicas (RATE_LIMIT_STORE=postgres).
   */
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AuthModule,
      // Every door authenticates (HTTP through the guard, the WebSocket on upgrade).
      global: true,
      imports: [
        ThrottlerModule.forRootAsync({
          inject: [Db],
          useFactory: (db: Db) => ({
            throttlers: [{ ttl: 60_000, limit: config.get('RATE_LIMIT_PER_MINUTE') }],
            storage:
              config.get('RATE_LIMIT_STORE') === 'postgres'
                ? new PostgresThrottlerStorage(db)
                : new MemoryThrottlerStorage(),
          }),
        }),
        ...(config.get('AUTH_MODE') === 'local' ? [LocalAuthModule] : []),
      ],
      controllers: [AuthController],
      providers: [
        AuthService,
        AuthFailureLimiter,
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: APP_GUARD, useClass: OwnerThrottlerGuard },
      ],
      exports: [AuthService, AuthFailureLimiter],
    };
  }
}
