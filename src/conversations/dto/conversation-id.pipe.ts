import { Injectable, PipeTransform } from '@nestjs/common';
import { ApiParam } from '@nestjs/swagger';
import { isUUID } from 'class-validator';

import { ValidationFailedException } from '../../common/errors/app.exception';

const EXAMPLE = '01936f3e-8a4c-7b1e-9d2a-3c4b5d6e7f80';

/**
 * The `:id` of a conversation route, checked as ConversationIdParam checks it (same rule,
 * same 400) without building and validating a class per request: the hot reads take it.
 */
@Injectable()
export class ConversationIdPipe implements PipeTransform<unknown, string> {
  transform(value: unknown): string {
    if (typeof value === 'string' && isUUID(value, 'all')) return value;
    throw new ValidationFailedException([{ field: 'id', errors: ['id must be a UUID'] }]);
  }
}

/** Documents the route's `:id` as ConversationIdParam does (routes that take the pipe). */
export const ApiConversationId = (): MethodDecorator =>
  ApiParam({ name: 'id', required: true, format: 'uuid', example: EXAMPLE });
