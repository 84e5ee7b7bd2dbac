import type { ErrorResponseDto } from '../common/errors/error-response.dto';

/** A failure the CLI reports on stderr and turns into its exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }

  /** What --json prints on stderr. */
  toJSON(): object {
    return { error: 'cli_error', message: this.message };
  }
}

/** The server answered with its error body (or an SSE `error` event). */
export class ApiError extends CliError {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number | undefined,
    // `error` stays a string: a server of another version may answer a code this build lacks.
    readonly body: Partial<Omit<ErrorResponseDto, 'error'>> & Record<string, unknown> = {},
    exitCode = 1,
  ) {
    super(message, exitCode);
    this.name = 'ApiError';
  }

  override toJSON(): object {
    return { statusCode: this.status, ...this.body, error: this.code, message: this.message };
  }
}

/** Interrupted by the user (Ctrl-C): the shell convention for SIGINT. */
export const INTERRUPTED_EXIT_CODE = 130;

/** One line for a human: the server's code first, since that is what to search for. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    const trace = error.body.correlationId ? ` (correlation id ${error.body.correlationId})` : '';
    return `error: ${error.code}: ${error.message}${trace}`;
  }
  if (error instanceof Error) return `error: ${error.message}`;
  return `error: ${String(error)}`;
}

/** On stderr: a line for a person, or with --json the error as one JSON document. */
export function reportError(error: unknown, json: boolean): void {
  const text = json && error instanceof CliError ? JSON.stringify(error) : describeError(error);
  process.stderr.write(`${text}\n`);
}
