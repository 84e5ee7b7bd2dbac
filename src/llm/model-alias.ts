import { applyDecorators } from '@nestjs/common';
import { IsString, Matches, MaxLength } from 'class-validator';

/** `provider/name`, e.g. `groq/llama-3.3-70b`; the registry decides whether it exists. */
export const MODEL_ALIAS_PATTERN = /^[A-Za-z0-9._-]+\/[A-Za-z0-9._:/-]+$/;
export const MODEL_ALIAS_MAX = 100;

/** Validates a field that names a model alias (its shape, not its existence). */
export function IsModelAlias(): PropertyDecorator {
  return applyDecorators(
    IsString(),
    MaxLength(MODEL_ALIAS_MAX),
    Matches(MODEL_ALIAS_PATTERN, { message: '$property must be an alias like provider/name' }),
  );
}
