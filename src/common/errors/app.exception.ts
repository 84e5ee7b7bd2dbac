import { ERROR_CODES, ErrorCode, ErrorSpec } from './error-codes';

/** One field that failed validation, as listed in a 400 `validation_failed` body. */
export interface FieldError {
  field: string;
  errors: string[];
}

export interface AppExceptionExtras {
  details?: FieldError[];
  /** Seconds the client should wait before trying again (sent as Retry-After). */
  retryAfter?: number;
  headers?: Record<string, string>;
  /** A turn's failure: the messages it stored, named in the error body. */
  messageIds?: { userMessageId: string; assistantMessageId: string };
}

/**
 * The one error type of the application: a stable code from the catalogue (which fixes
 * its HTTP status), a message that says what to do, and what a client needs to retry.
 * Modules throw it or their own subclasses; the global filter renders it as the JSON
 * body, a turn stores and streams it.
 */
export class AppException extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly extras: AppExceptionExtras = {},
  ) {
    super(message);
    this.name = new.target.name;
    this.status = (ERROR_CODES[code] as ErrorSpec).status;
  }

  get retryAfter(): number | undefined {
    return this.extras.retryAfter;
  }

  /** How an assistant message ending with this error is stored. */
  get messageStatus(): 'failed' | 'cancelled' {
    return (ERROR_CODES[this.code] as ErrorSpec).messageStatus ?? 'failed';
  }

  /** Headers the HTTP answer carries: Retry-After when set, plus any of the thrower's. */
  get headers(): Record<string, string> | undefined {
    if (this.retryAfter === undefined) return this.extras.headers;
    return { ...this.extras.headers, 'Retry-After': String(this.retryAfter) };
  }
}

export class ValidationFailedException extends AppException {
  constructor(details: FieldError[]) {
    const summary = details.map((d) => `${d.field}: ${d.errors.join(', ')}`).join('; ');
    super('validation_failed', `Invalid request: ${summary}`, { details });
  }
}
