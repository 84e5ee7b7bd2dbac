import { applyDecorators } from '@nestjs/common';
import { ApiParam, ApiResponse } from '@nestjs/swagger';

import { OpenAiErrorDto } from '../openai';

// The Swagger pieces both controllers of this door repeat.

const ERRORS: Record<number, string> = {
  400: 'Invalid body (`validation_failed`), an input this door does not take yet (`unsupported_input`)',
  401: 'No or bad credentials',
  404: 'Not found, or not yours (`response_not_found`, `conversation_not_found`, `message_not_found`, `model_not_found`)',
  409: 'A turn runs on the conversation (`conversation_busy`), or the item is followed by others (`message_has_replies`)',
  422: 'The Idempotency-Key was used with another body (`idempotency_key_reused`)',
  429: 'Rate limited or too many replies at once (`rate_limited`, `too_many_generations`); see Retry-After',
  502: 'The provider failed (`provider_error`, …)',
  503: 'The provider cannot be reached (`provider_unavailable`)',
  504: 'The provider sent nothing in time (`provider_timeout`)',
};

/** Errors in OpenAI's shape `{ error: { message, type, code, param } }`, `code` our stable code. */
export const ApiOpenAiErrors = (...statuses: number[]): MethodDecorator & ClassDecorator =>
  applyDecorators(
    ...statuses.map((status) =>
      ApiResponse({ status, description: ERRORS[status], type: OpenAiErrorDto }),
    ),
  );

export const ApiResponseId = (): MethodDecorator =>
  ApiParam({
    name: 'id',
    description: 'A response id (resp_…)',
    example: 'resp_0193a1b2c3d47e5f8a9b0c1d2e3f4a5b',
  });

export const ApiConversationRef = (): MethodDecorator =>
  ApiParam({
    name: 'id',
    description: 'A conversation id (conv_…, or the UUID /api/v1 shows)',
    example: 'conv_0193a1b2c3d47e5f8a9b0c1d2e3f4a5b',
  });

export const ApiItemId = (): MethodDecorator =>
  ApiParam({
    name: 'itemId',
    description: 'An item id (msg_…)',
    example: 'msg_0193a1b2c3d47e5f8a9b0c1d2e3f4a5b',
  });

export const RESPONSE_EVENTS = `Server-Sent Events, \`event:\` the type, \`data:\` the event with its \`sequence_number\` (from 0):
- \`response.created\`, \`response.in_progress\` — the response, no output yet
- \`response.output_item.added\` / \`response.content_part.added\` — a reasoning item (\`reasoning_text\`) when the model reasons, then the message (\`output_text\`)
- \`response.reasoning_text.delta\` / \`response.output_text.delta\` — text as it comes
- \`response.reasoning_text.done\`, \`response.output_text.done\`, \`response.content_part.done\`, \`response.output_item.done\`
- per function call, after the message: \`response.output_item.added\` (a \`function_call\` with empty arguments), \`response.function_call_arguments.delta\`, \`response.function_call_arguments.done\`, \`response.output_item.done\`
- \`response.completed\`, \`response.incomplete\` (max_output_tokens reached) or \`response.failed\` (failed or cancelled: see \`response.status\` and \`response.error\`), then the stream ends
- \`: heartbeat\` comment lines while the provider is silent

A disconnect is not a cancel for a stored response: GET /v1/responses/{id}?stream=true&starting_after=N goes on after event N.`;
