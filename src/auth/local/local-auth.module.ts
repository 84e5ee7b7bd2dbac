import { Module } from '@nestjs/common';

import { PostgresThrottlerStorage } from '../postgres-throttler.storage';
import { LocalAuthController } from './local-auth.controller';
import { LocalAuthService } from './local-auth.service';
import { LoginLimiter } from './login-limiter';
import { PasswordHasher } from './password-hasher';
import { RefreshTokensRepository } from './refresh-tokens.repository';
import { RegistrationLimiter } from './registration-limiter';
import { UsersRepository } from './users.repository';

/** Built-in users (AUTH_MODE=local): imported by AuthModule in that mode only. */
@Module({
  controllers: [LocalAuthController],
  providers: [
    LocalAuthService,
    LoginLimiter,
    PasswordHasher,
    PostgresThrottlerStorage,
    RefreshTokensRepository,
    RegistrationLimiter,
    UsersRepository,
  ],
  exports: [LocalAuthService],
})
export class LocalAuthModule {}
