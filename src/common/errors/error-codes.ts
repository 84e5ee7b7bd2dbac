/**
 * Every error code the API answers with, and what each means for HTTP and for a stored
 * turn. The JSON error body, the SSE/WebSocket `error` event and a message's stored
 * `errorCode` are all rendered from an AppException built on this table, so a code's
 * status is decided here and nowhere else.
 */
export interface ErrorSpec {
  status: number;
  /** How an assistant message that ended with this code is stored. */
  messageStatus?: 'failed' | 'cancelled';
  /**
   * A turn that failed with it may succeed if sent again (the provider or the database was
   * down, a process stopped): answered with Retry-After, and an idempotent retry runs it again.
   */
  transient?: true;
}

export const ERROR_CODES = {
  // The request itself
  bad_request: { status: 400 },
  validation_failed: { status: 400 },
  invalid_json: { status: 400 },
  invalid_body: { status: 400 },
  invalid_cursor: { status: 400 },
  invalid_idempotency_key: { status: 400 },
  invalid_last_event_id: { status: 400 },
  /** A WebSocket frame that is not a JSON message of a known type. */
  invalid_message: { status: 400 },
  unknown_model: { status: 400 },
  /** Tool results: one names a call the reply did not make, or answers a call twice. */
  unknown_tool_call: { status: 400 },
  duplicate_tool_result: { status: 400 },
  /** Tool results: a call of the reply has no result. */
  tool_results_incomplete: { status: 400 },
  /** A `serverTools` entry that is not `<server>/<tool>` or `<server>/*`, or names no configured MCP server. */
  unknown_server_tool: { status: 400 },
  /** The request offers tools to an alias whose model cannot call them (`tools: false`). */
  tools_not_supported: { status: 400 },
  /** A `json_schema` reply asked of an alias that cannot honour one (`jsonSchema: false`). */
  response_format_not_supported: { status: 400 },
  /** /v1/responses: an input item, part or tool this door does not take (remote URLs, non-function tools). */
  unsupported_input: { status: 400 },
  /** /v1: the prompt (and the reply asked for) exceeds the alias's context window (OpenAI's code). */
  context_length_exceeded: { status: 400 },
  payload_too_large: { status: 413 },
  /** An upload larger than FILE_MAX_BYTES. */
  file_too_large: { status: 413 },
  /** An upload that would take the owner's files past FILE_QUOTA_BYTES. */
  file_quota_exceeded: { status: 413 },
  /** An upload whose bytes are of a type FILE_ALLOWED_TYPES does not allow. */
  file_type_not_allowed: { status: 415 },
  /** A multipart body without one `file` part, or one that is not multipart at all. */
  invalid_upload: { status: 400 },
  unsupported_media_type: { status: 415 },
  message_too_long: { status: 422 },
  /** An attachment whose text could not be extracted (its error code is named). */
  file_unreadable: { status: 422 },
  /** An attached image over ATTACHED_IMAGE_MAX_BYTES. */
  attachment_too_large: { status: 422 },
  /** Images for an alias whose model cannot see (`vision` not true in its definition). */
  vision_not_supported: { status: 422 },
  idempotency_key_reused: { status: 422 },
  /** An edit of a reply, or a regenerate of a message that answers nothing. */
  wrong_message_role: { status: 422 },
  /** Feedback is for assistant replies only. */
  not_an_assistant_message: { status: 422 },
  unprocessable_entity: { status: 422 },
  method_not_allowed: { status: 405 },
  not_acceptable: { status: 406 },
  request_timeout: { status: 408 },
  upgrade_required: { status: 426 },
  /** AUTH_MODE=local's token endpoint takes grant_type=password only. */
  unsupported_grant_type: { status: 400 },
  // Who is asking
  unauthorized: { status: 401 },
  missing_credentials: { status: 401 },
  invalid_token: { status: 401 },
  token_expired: { status: 401 },
  invalid_api_key: { status: 401 },
  // AUTH_MODE=local
  invalid_credentials: { status: 401 },
  invalid_refresh_token: { status: 401 },
  registration_closed: { status: 403 },
  username_taken: { status: 409 },
  forbidden: { status: 403 },
  origin_not_allowed: { status: 403 },
  auth_unavailable: { status: 503 },
  // What it names
  not_found: { status: 404 },
  conversation_not_found: { status: 404 },
  no_active_generation: { status: 404 },
  message_not_found: { status: 404 },
  file_not_found: { status: 404 },
  /** /v1/responses: no stored response of the owner has this id. */
  response_not_found: { status: 404 },
  /** The message exists but records no context manifest (user messages, older replies). */
  context_not_recorded: { status: 404 },
  // The OpenAI-compatible door answers an unknown alias as OpenAI does.
  model_not_found: { status: 404 },
  conflict: { status: 409 },
  conversation_busy: { status: 409 },
  /** Tool results for a reply that is not waiting for any (docs/tools.md). */
  message_not_waiting: { status: 409 },
  conversation_limit_reached: { status: 409 },
  /** A conversation item another message follows: only the end of a branch can be deleted. */
  message_has_replies: { status: 409 },
  /** An attachment that is a document whose text is still being extracted. */
  file_not_ready: { status: 409 },
  // Limits
  rate_limited: { status: 429 },
  too_many_requests: { status: 429 },
  too_many_generations: { status: 429 },
  too_many_sockets: { status: 429 },
  // The provider
  provider_error: { status: 502, transient: true },
  provider_auth_failed: { status: 502 },
  provider_rejected_request: { status: 502 },
  provider_model_not_found: { status: 502 },
  provider_unavailable: { status: 503, transient: true },
  provider_not_configured: { status: 503 },
  provider_timeout: { status: 504, transient: true },
  provider_rate_limited: { status: 429, transient: true },
  /** The provider's tool calls broke a bound (count, argument size, function name). */
  provider_invalid_tool_calls: { status: 502 },
  // How a turn was stopped
  turn_cancelled: { status: 409, messageStatus: 'cancelled' },
  turn_claim_lost: { status: 409 },
  turn_interrupted: { status: 503, transient: true },
  generation_timeout: { status: 504 },
  // The client went away (nginx's 499); only ever logged, nobody is left to answer.
  client_closed_request: { status: 499 },
  server_shutdown: { status: 503, transient: true },
  // This service
  not_ready: { status: 503 },
  database_unavailable: { status: 503, transient: true },
  shutting_down: { status: 503 },
  service_unavailable: { status: 503 },
  internal_error: { status: 500 },
  /** An HTTP status no code above names; the answer keeps the thrown exception's status. */
  http_error: { status: 500 },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Whether a turn that failed with `code` may succeed if sent again (ErrorSpec.transient). */
export function isTransient(code: ErrorCode): boolean {
  return (ERROR_CODES[code] as ErrorSpec).transient === true;
}

export function isErrorCode(value: string): value is ErrorCode {
  return Object.hasOwn(ERROR_CODES, value);
}
