import { DynamicModule, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';

import { AppConfig } from '../config/app-config';
import { AuthGuard } from './auth.guard';
import { AuthService } from './auth.service';
import { OwnerThrottlerGuard } from './owner-throttler.guard';

@Module({})
export class AuthModule {
  /**
   * Guards run in this order: who is asking, then how often they may. The limiter's
   * storage is in memory; pass a shared ThrottlerStorage (e.g. Redis) for replicas.
   */
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AuthModule,
      imports: [
        ThrottlerModule.forRoot([{ ttl: 60_000, limit: config.get('RATE_LIMIT_PER_MINUTE') }]),
      ],
      providers: [
        AuthService,
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: APP_GUARD, useClass: OwnerThrottlerGuard },
      ],
      exports: [AuthService],
    };
  }
}
