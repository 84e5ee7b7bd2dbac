import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';

import { AuthFailureLimiter } from './auth-failure-limiter';
import { AuthService, UnauthorizedException } from './auth.service';
import { API_KEY_AS_BEARER, IS_PUBLIC, QUERY_TOKEN } from './current-owner.decorator';

/** What a route asks of its callers, from its decorators. */
interface RouteAccess {
  isPublic: boolean;
  bearerApiKey: boolean;
  queryToken: boolean;
}

/** Global: every route but @Public() ones needs credentials per AUTH_MODE. */
@Injectable()
export class AuthGuard implements CanActivate {
  /** Decorators do not change after start-up: read once per handler, not per request. */
  private readonly routes = new WeakMap<object, RouteAccess>();

  constructor(
    private readonly auth: AuthService,
    private readonly failures: AuthFailureLimiter,
    private readonly reflector: Reflector,
  ) {}

  /** A public route passes synchronously: Nest then awaits nothing for this guard. */
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const access = this.accessTo(context);
    if (access.isPublic) return true;
    return this.authenticate(context.switchToHttp().getRequest<Request>(), access);
  }

  private async authenticate(req: Request, access: RouteAccess): Promise<boolean> {
    // The request limiter runs after this guard; failures are limited here, per address.
    const ip = req.ip ?? 'unknown';
    this.failures.assertAllowed(ip);
    try {
      req.owner = await this.auth.authenticate(req, access);
    } catch (error) {
      if (error instanceof UnauthorizedException)
        throw (await this.failures.recordFailure(ip)) ?? error;
      throw error;
    }
    return true;
  }

  private accessTo(context: ExecutionContext): RouteAccess {
    const handler = context.getHandler();
    let access = this.routes.get(handler);
    if (!access) {
      const targets = [handler, context.getClass()];
      access = {
        isPublic: this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets) === true,
        bearerApiKey:
          this.reflector.getAllAndOverride<boolean>(API_KEY_AS_BEARER, targets) === true,
        queryToken: this.reflector.getAllAndOverride<boolean>(QUERY_TOKEN, targets) === true,
      };
      this.routes.set(handler, access);
    }
    return access;
  }
}
