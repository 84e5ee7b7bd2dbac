import { CanActivate, ExecutionContext, Injectable, OnModuleInit, Type } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  ThrottlerGuard,
  ThrottlerLimitDetail,
  ThrottlerModuleOptions,
  ThrottlerRequest,
  ThrottlerStorage,
} from '@nestjs/throttler';
import {
  THROTTLER_BLOCK_DURATION,
  THROTTLER_KEY_GENERATOR,
  THROTTLER_LIMIT,
  THROTTLER_SKIP,
  THROTTLER_TRACKER,
  THROTTLER_TTL,
} from '@nestjs/throttler/dist/throttler.constants';
import type { Request } from 'express';

import { AppException } from '../common/errors/app.exception';
import { LOCAL_OWNER } from './current-owner.decorator';

/** @nestjs/throttler's guard with this API's tracker, key and 429: it counts the requests. */
class OwnerLimiter extends ThrottlerGuard {
  /** The configured throttlers, named and sorted (set by onModuleInit). */
  get all(): ThrottlerGuard['throttlers'] {
    return this.throttlers;
  }

  get common(): ThrottlerGuard['commonOptions'] {
    return this.commonOptions;
  }

  /** One throttler's count for this request: true, or a thrown 429. */
  count(request: ThrottlerRequest): Promise<boolean> {
    return this.handleRequest(request);
  }

  protected override getTracker(req: Request): Promise<string> {
    return Promise.resolve(
      req.owner && req.owner !== LOCAL_OWNER ? `owner:${req.owner}` : `ip:${req.ip}`,
    );
  }

  /** One count per owner (or IP) across every route, as RATE_LIMIT_PER_MINUTE promises. */
  protected override generateKey(
    _context: ExecutionContext,
    tracker: string,
    name: string,
  ): string {
    return `${name}:${tracker}`;
  }

  protected override throwThrottlingException(
    _context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    throw new AppException(
      'rate_limited',
      `More than ${detail.limit} requests in ${detail.ttl / 1000} s; retry after ${detail.timeToBlockExpire} s`,
      {
        retryAfter: detail.timeToBlockExpire,
        // The guard sets these on answers it lets through, not on the one it refuses.
        headers: {
          'X-RateLimit-Limit': String(detail.limit),
          'X-RateLimit-Remaining': '0',
          'X-RateLimit-Reset': String(detail.timeToBlockExpire),
        },
      },
    );
  }
}

type Handler = ReturnType<ExecutionContext['getHandler']>;

/** A setting the library takes as it is (a function or a string is resolved per request). */
const isNumber = (value: unknown): value is number =>
  typeof value === 'number' && !Number.isNaN(value);

/** What a route's decorators make of the throttlers, short of the request itself. */
type RouteLimit = Omit<ThrottlerRequest, 'context'>;

/**
 * Requests per minute per owner, or per client IP when the request is anonymous.
 *
 * The library's guard reads five decorators per throttler through the Reflector and awaits
 * each setting on every request. Decorators do not change after start-up, so a route's
 * limits are worked out once (per handler) and a request only counts: a route that skips
 * throttling passes synchronously. Settings only a request can tell (a skipIf, a limit
 * given as a function) and several throttlers at once keep the library's own path.
 */
@Injectable()
export class OwnerThrottlerGuard implements CanActivate, OnModuleInit {
  private readonly limiter: OwnerLimiter;
  /** Per handler: its limits ([] = not throttled), or null for the library's path. */
  private readonly routes = new WeakMap<Handler, RouteLimit[] | null>();

  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    private readonly reflector: Reflector,
  ) {
    this.limiter = new OwnerLimiter(options, storage, reflector);
  }

  onModuleInit(): Promise<void> {
    return this.limiter.onModuleInit();
  }

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const handler = context.getHandler();
    let limits = this.routes.get(handler);
    if (limits === undefined) {
      limits = this.limitsOf(handler, context.getClass());
      this.routes.set(handler, limits);
    }
    if (limits === null) return this.limiter.canActivate(context);
    if (limits.length === 0) return true;
    return this.limiter.count({ context, ...limits[0] });
  }

  /** As the library resolves them per request, for settings that are not per request. */
  private limitsOf(handler: Handler, classRef: Type): RouteLimit[] | null {
    const limits: RouteLimit[] = [];
    const common = this.limiter.common;
    for (const throttler of this.limiter.all) {
      const read = <T>(key: string): T | undefined =>
        this.reflector.getAllAndOverride<T | undefined, string>(key + throttler.name, [
          handler,
          classRef,
        ]);
      if (throttler.skipIf || common.skipIf) return null;
      if (read<boolean>(THROTTLER_SKIP)) continue;
      const limit = read<unknown>(THROTTLER_LIMIT) ?? throttler.limit;
      const ttl = read<unknown>(THROTTLER_TTL) ?? throttler.ttl;
      const blockDuration =
        read<unknown>(THROTTLER_BLOCK_DURATION) ?? throttler.blockDuration ?? ttl;
      if (!isNumber(limit) || !isNumber(ttl) || !isNumber(blockDuration)) return null;
      limits.push({
        throttler,
        limit,
        ttl,
        blockDuration,
        getTracker:
          read<RouteLimit['getTracker']>(THROTTLER_TRACKER) ||
          throttler.getTracker ||
          common.getTracker!,
        generateKey:
          read<RouteLimit['generateKey']>(THROTTLER_KEY_GENERATOR) ||
          throttler.generateKey ||
          common.generateKey!,
      });
    }
    return limits.length > 1 ? null : limits;
  }
}
