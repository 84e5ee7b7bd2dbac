import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import type { Request } from 'express';

/** The owner of every conversation when AUTH_MODE=none. */
export const LOCAL_OWNER = 'local';

/** The owner the request acts for, set by the AuthGuard; every query is scoped by it. */
export const CurrentOwner = createParamDecorator(
  (_: unknown, context: ExecutionContext): string => {
    return context.switchToHttp().getRequest<Request>().owner ?? LOCAL_OWNER;
  },
);

export const IS_PUBLIC = 'auth:public';
/** Routes anyone may call (health, metrics). */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(IS_PUBLIC, true);

export const API_KEY_AS_BEARER = 'auth:api-key-as-bearer';
/**
 * Routes where AUTH_MODE=api-key also takes the key as `Authorization: Bearer <key>`, the
 * way OpenAI clients send it (the OpenAI-compatible door).
 */
export const ApiKeyAsBearer = (): MethodDecorator & ClassDecorator =>
  SetMetadata(API_KEY_AS_BEARER, true);

export const QUERY_TOKEN = 'auth:query-token';
/**
 * GET routes a browser opens without headers (EventSource streams, downloads) also take the
 * token as `?access_token=`, as the WebSocket does; their query DTO extends AccessTokenQueryDto.
 */
export const QueryToken = (): MethodDecorator & ClassDecorator => SetMetadata(QUERY_TOKEN, true);
