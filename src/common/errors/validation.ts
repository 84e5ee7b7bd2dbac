import { ArgumentMetadata, PipeTransform, ValidationPipe } from '@nestjs/common';
import { ClassConstructor, plainToInstance } from 'class-transformer';
import { validate, ValidationError } from 'class-validator';

import { FieldError, ValidationFailedException } from './app.exception';

/**
 * Rules that say what kind of value a field takes. When one of them fails, the field's other
 * rules (a range, a length, a pattern) fail too and say nothing useful: `limit=abc` is "not an
 * integer", not also "less than 1" and "greater than 100".
 */
const KIND_RULES = new Set([
  'isString',
  'isInt',
  'isNumber',
  'isBoolean',
  'isArray',
  'isObject',
  'isUuid',
  'isEnum',
  'isIn',
  'isDateString',
  'isIso8601',
  'nestedValidation',
]);

/** What to tell the client about one field: each problem once, the one that matters. */
export function fieldMessages(error: ValidationError, field = error.property): string[] {
  const failed = Object.entries(error.constraints ?? {});
  if (failed.length === 0) return [];
  // Only a field without @IsOptional is validated when absent: it is required.
  if (error.value === undefined && !failed.some(([rule]) => rule === 'whitelistValidation'))
    return [`${field} is required`];
  const kind = failed.filter(([rule]) => KIND_RULES.has(rule));
  return [...new Set((kind.length > 0 ? kind : failed).map(([, message]) => message))];
}

/** class-validator's error tree as the `details` of a 400 `validation_failed`. */
export function toFieldErrors(errors: ValidationError[], parent = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const messages = fieldMessages(error, field);
    const own = messages.length > 0 ? [{ field, errors: messages }] : [];
    return [...own, ...toFieldErrors(error.children ?? [], field)];
  });
}

/**
 * The options of the global ValidationPipe, shared with doors that validate outside of it
 * (the WebSocket) so the same input gets the same errors everywhere. forbidUnknownValues
 * is the pipe's own default, spelled out for class-validator called directly.
 */
export const VALIDATION_OPTIONS = {
  whitelist: true,
  forbidNonWhitelisted: true,
  forbidUnknownValues: false,
} as const;

/** `plain` as an instance of `type`, or a ValidationFailedException listing each field. */
export async function validatePlain<T extends object>(
  type: ClassConstructor<T>,
  plain: object,
): Promise<T> {
  const instance = plainToInstance(type, plain);
  const errors = await validate(instance, VALIDATION_OPTIONS);
  if (errors.length > 0) throw new ValidationFailedException(toFieldErrors(errors));
  return instance;
}

/**
 * The global pipe: bodies refuse unknown fields, query strings drop unknown parameters
 * (cache busters such as `?_=123` that browsers and libraries add), as the API promises.
 */
export class RequestValidationPipe implements PipeTransform {
  private readonly strict: ValidationPipe;
  private readonly lenient: ValidationPipe;

  constructor(exceptionFactory: (errors: ValidationError[]) => unknown) {
    const options = { ...VALIDATION_OPTIONS, transform: true, exceptionFactory };
    this.strict = new ValidationPipe(options);
    this.lenient = new ValidationPipe({ ...options, forbidNonWhitelisted: false });
  }

  transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    return (metadata.type === 'query' ? this.lenient : this.strict).transform(value, metadata);
  }
}
