import { applyDecorators } from '@nestjs/common';
import { ApiExtraModels, ApiResponse, getSchemaPath } from '@nestjs/swagger';

import { ErrorResponseDto } from '../errors/error-response.dto';

const ERRORS: Record<number, { description: string; code: string; message: string }> = {
  400: {
    description:
      'Invalid input (`validation_failed`, `invalid_json`, `invalid_cursor`, `unknown_model`, …)',
    code: 'validation_failed',
    message: 'Invalid request: title: title must be shorter than or equal to 200 characters',
  },
  401: {
    description:
      'No or bad credentials (`missing_credentials`, `invalid_token`, `token_expired`, `invalid_api_key`)',
    code: 'missing_credentials',
    message: 'Send a token as Authorization: Bearer <token>',
  },
  404: {
    description:
      'No such conversation (`conversation_not_found`), or no such message in it (`message_not_found`)',
    code: 'conversation_not_found',
    message: 'Conversation 01936f3e-… does not exist; create one with POST /api/v1/conversations',
  },
  409: {
    description: 'Another turn is running on this conversation (`conversation_busy`)',
    code: 'conversation_busy',
    message: 'Another turn is running on this conversation; wait for it to finish or cancel it',
  },
  413: {
    description: 'Body larger than the limit (`payload_too_large`)',
    code: 'payload_too_large',
    message: 'The request body exceeds the limit of 1048576 bytes',
  },
  415: {
    description: 'A body that is not JSON (`unsupported_media_type`)',
    code: 'unsupported_media_type',
    message: 'The body must be JSON sent with Content-Type: application/json (got text/plain)',
  },
  422: {
    description:
      'Cannot be processed (`message_too_long`, `idempotency_key_reused`, `wrong_message_role`)',
    code: 'message_too_long',
    message:
      "The message needs about 9000 tokens but only 7100 fit in this model's context window …",
  },
  429: {
    description:
      'Too many requests (`rate_limited`), replies at once (`too_many_generations`) or provider rate limit (`provider_rate_limited`); see Retry-After',
    code: 'provider_rate_limited',
    message: 'Groq answered 429: Rate limit reached; try again later',
  },
  502: {
    description:
      'Provider failed (`provider_error`, `provider_auth_failed`, `provider_rejected_request`, `provider_invalid_tool_calls`)',
    code: 'provider_auth_failed',
    message: 'Groq refused the credentials (401): check GROQ_API_KEY',
  },
  503: {
    description:
      'Provider unreachable (`provider_unavailable`), database down (`database_unavailable`, see Retry-After), ' +
      'server shutting down (`shutting_down`) or not ready (`not_ready`)',
    code: 'provider_unavailable',
    message:
      'Could not reach LM Studio at http://localhost:1234/v1: start its local server or set LMSTUDIO_BASE_URL',
  },
  504: {
    description: 'Provider too slow (`provider_timeout`)',
    code: 'provider_timeout',
    message:
      'LM Studio at http://localhost:1234/v1 sent nothing for 60000 ms; raise LLM_TIMEOUT_MS for slow models',
  },
};

/** Documents the design's error body for each listed status, with a typical example. */
export function ApiErrors(...statuses: number[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ApiExtraModels(ErrorResponseDto),
    ...statuses.map((status) => {
      const error = ERRORS[status];
      return ApiResponse({
        status,
        description: error?.description ?? 'Error',
        content: {
          'application/json': {
            schema: { $ref: getSchemaPath(ErrorResponseDto) },
            example: {
              statusCode: status,
              error: error?.code ?? 'error',
              message: error?.message ?? 'What happened and what to do',
              correlationId: '7d5c1a9e-2b1f-4c8e-9a51-0f3e2d1c4b5a',
            },
          },
        },
      });
    }),
  );
}
