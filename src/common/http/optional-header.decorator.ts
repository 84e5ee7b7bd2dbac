import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';

/**
 * One request header, or undefined. Unlike `@Headers(name)`, which Swagger documents as a
 * second, required parameter under its lower-case name, it adds nothing to the OpenAPI
 * document: the route's `@ApiHeader` describes the header once, optional.
 */
export const OptionalHeader = createParamDecorator(
  (name: string, context: ExecutionContext): string | undefined => {
    const value = context.switchToHttp().getRequest<Request>().headers[name.toLowerCase()];
    return Array.isArray(value) ? value[0] : value;
  },
);
