import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';

import { AuthFailureLimiter } from './auth-failure-limiter';
import { AuthService, UnauthorizedException } from './auth.service';
import { API_KEY_AS_BEARER, IS_PUBLIC } from './current-owner.decorator';

/** Global: every route but @Public() ones needs credentials per AUTH_MODE. */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly auth: AuthService,
    private readonly failures: AuthFailureLimiter,
    private readonly reflector: Reflector,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const req = context.switchToHttp().getRequest<Request>();
    const bearerApiKey = this.reflector.getAllAndOverride<boolean>(API_KEY_AS_BEARER, targets);
    // The request limiter runs after this guard; failures are limited here, per address.
    const ip = req.ip ?? 'unknown';
    this.failures.assertAllowed(ip);
    try {
      req.owner = await this.auth.authenticate(req, { bearerApiKey: bearerApiKey === true });
    } catch (error) {
      if (error instanceof UnauthorizedException)
        throw (await this.failures.recordFailure(ip)) ?? error;
      throw error;
    }
    return true;
  }
}
