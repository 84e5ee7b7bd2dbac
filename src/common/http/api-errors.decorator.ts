import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';

import { ErrorResponseDto } from '../errors/error-response.dto';

const DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid input (`validation_failed`, `invalid_json`, `invalid_cursor`, `unknown_model`, …)',
  404: 'No such conversation (`conversation_not_found`)',
  409: 'Another turn is running on this conversation (`conversation_busy`)',
  413: 'Body larger than the limit (`payload_too_large`)',
  422: 'Cannot be processed (`message_too_long`, `idempotency_key_reused`)',
  429: 'Provider rate limit (`provider_rate_limited`); see Retry-After',
  502: 'Provider failed (`provider_error`, `provider_auth_failed`)',
  503: 'Provider unreachable (`provider_unavailable`) or database down',
  504: 'Provider too slow (`provider_timeout`)',
};

/** Documents the design's error body for each listed status. */
export function ApiErrors(...statuses: number[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...statuses.map((status) =>
      ApiResponse({ status, description: DESCRIPTIONS[status] ?? 'Error', type: ErrorResponseDto }),
    ),
  );
}
