import { applyDecorators } from '@nestjs/common';
import { IsString, Matches, registerDecorator, ValidationArguments } from 'class-validator';

/**
 * A speaker name: 1–64 characters, no control characters (Unicode Cc). OpenAI takes any such string as a
 * message's `name`; some providers restrict it further (e.g. `^[a-zA-Z0-9_-]+$`), which is
 * the caller's to respect for the model it picks.
 */
export const SPEAKER_NAME_PATTERN = /^\P{Cc}{1,64}$/u;

/** Metadata limits, as OpenAI's: at most 16 keys, keys up to 64 chars, string values up to 512. */
export const METADATA_MAX_KEYS = 16;
export const METADATA_KEY_MAX = 64;
export const METADATA_VALUE_MAX = 512;

export function IsSpeakerName(): PropertyDecorator {
  return applyDecorators(
    IsString(),
    Matches(SPEAKER_NAME_PATTERN, {
      message: '$property must be 1 to 64 characters, without control characters',
    }),
  );
}

/** What is wrong with a metadata value, or null when it is a flat object of short strings. */
export function metadataProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return 'must be an object';
  const entries = Object.entries(value);
  if (entries.length > METADATA_MAX_KEYS) return `must have at most ${METADATA_MAX_KEYS} keys`;
  for (const [key, item] of entries) {
    if (key.length === 0 || key.length > METADATA_KEY_MAX)
      return `keys must be 1 to ${METADATA_KEY_MAX} characters`;
    if (typeof item !== 'string') return `values must be strings (${JSON.stringify(key)} is not)`;
    if (item.length > METADATA_VALUE_MAX)
      return `values must be at most ${METADATA_VALUE_MAX} characters (${JSON.stringify(key)})`;
  }
  return null;
}

/** A flat object of string values, within the metadata limits. */
export function IsMetadata(): PropertyDecorator {
  return (target: object, propertyName: string | symbol) =>
    registerDecorator({
      name: 'isMetadata',
      target: target.constructor,
      propertyName: String(propertyName),
      validator: {
        validate: (value: unknown) => metadataProblem(value) === null,
        defaultMessage: (args: ValidationArguments) =>
          `${args.property} ${metadataProblem(args.value) ?? 'is invalid'}`,
      },
    });
}
