import { AppException } from '../common/errors/app.exception';
import { redactUrls } from '../common/text/redact-url';
import type { ErrorCode } from '../common/errors/error-codes';

export type LlmErrorCode = Extract<
  ErrorCode,
  | 'provider_error'
  | 'provider_auth_failed'
  | 'provider_unavailable'
  | 'provider_timeout'
  | 'provider_rate_limited'
  | 'provider_not_configured'
  | 'provider_model_not_found'
  | 'provider_rejected_request'
  | 'provider_invalid_tool_calls'
>;

/** A provider failure in our own terms; adapters translate SDK errors into it. */
export class LlmException extends AppException {
  constructor(
    readonly llmCode: LlmErrorCode,
    message: string,
    readonly retry: { retryable: boolean; retryAfterMs?: number } = { retryable: false },
  ) {
    const retryAfter =
      llmCode === 'provider_rate_limited' && retry.retryAfterMs !== undefined
        ? Math.max(1, Math.ceil(retry.retryAfterMs / 1000))
        : undefined;
    // SDK and fetch errors name the URL they tried, credentials and all.
    super(llmCode, redactUrls(message), { retryAfter });
  }
}

/** A provider refused without a call: it failed too often lately and is cooling down. */
export class ProviderCoolingDownException extends LlmException {
  constructor(message: string) {
    super('provider_unavailable', message);
  }
}

export class UnknownModelException extends AppException {
  constructor(alias: string) {
    super(
      'unknown_model',
      `Unknown model alias "${alias}"; GET /api/v1/models lists the available ones`,
    );
  }
}

/** Parses Retry-After (seconds or an HTTP date) into milliseconds. */
export function parseRetryAfter(
  value: string | null | undefined,
  now = Date.now(),
): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  // Only the HTTP-date form (RFC 9110 IMF-fixdate); Date.parse alone accepts too much.
  if (!/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(trimmed))
    return undefined;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
