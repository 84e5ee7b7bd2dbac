/** One field that failed validation, as listed in a 400 `validation_failed` body. */
export interface FieldError {
  field: string;
  errors: string[];
}

/**
 * An error the client can act on: an HTTP status, a stable snake_case code and a message
 * that says what to do. Modules throw their own subclasses; the global filter renders them.
 */
export class AppException extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extras: { details?: FieldError[]; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class ValidationFailedException extends AppException {
  constructor(details: FieldError[]) {
    const summary = details.map((d) => `${d.field}: ${d.errors.join(', ')}`).join('; ');
    super(400, 'validation_failed', `Invalid request: ${summary}`, { details });
  }
}
