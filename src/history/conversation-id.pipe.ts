import { applyDecorators, Injectable, PipeTransform } from '@nestjs/common';
import { ApiParam } from '@nestjs/swagger';
import { isUUID } from 'class-validator';

import { FieldError, ValidationFailedException } from '../common/errors/app.exception';

const EXAMPLE = '01936f3e-8a4c-7b1e-9d2a-3c4b5d6e7f80';

/** The error of one route parameter that is not a UUID, as class-validator's @IsUUID words it. */
function uuidError(field: string, value: unknown): FieldError[] {
  return typeof value === 'string' && isUUID(value, 'all')
    ? []
    : [{ field, errors: [`${field} must be a UUID`] }];
}

/**
 * The `:id` of a conversation route: a UUID, or 400 validation_failed naming `id`. A plain
 * check instead of a DTO through the global ValidationPipe, which would build and validate
 * a class per request on every route of a conversation (reads and turns alike).
 */
@Injectable()
export class ConversationIdPipe implements PipeTransform<unknown, string> {
  transform(value: unknown): string {
    const errors = uuidError('id', value);
    if (errors.length > 0) throw new ValidationFailedException(errors);
    return value as string;
  }
}

/** Documents the route's `:id` (routes that take ConversationIdPipe). */
export const ApiConversationId = (): MethodDecorator =>
  ApiParam({ name: 'id', required: true, type: String, format: 'uuid', example: EXAMPLE });

/** The route parameters of one message of a conversation. */
export interface MessageRouteParams {
  id: string;
  messageId: string;
}

/**
 * `:id` and `:messageId` of a message route, both UUIDs, else one 400 validation_failed
 * listing each that is not. Typed by an interface, so the global ValidationPipe passes the
 * object through untouched and this is the only check.
 */
@Injectable()
export class MessageRouteParamsPipe implements PipeTransform<
  Record<string, unknown>,
  MessageRouteParams
> {
  transform(params: Record<string, unknown>): MessageRouteParams {
    const errors = [...uuidError('id', params.id), ...uuidError('messageId', params.messageId)];
    if (errors.length > 0) throw new ValidationFailedException(errors);
    return params as unknown as MessageRouteParams;
  }
}

/** Documents `:id` and `:messageId` (routes that take MessageRouteParamsPipe). */
export const ApiMessageRouteParams = (messageId: {
  example: string;
  description?: string;
}): MethodDecorator =>
  applyDecorators(
    ApiConversationId(),
    ApiParam({ name: 'messageId', required: true, type: String, format: 'uuid', ...messageId }),
  );
