import { AppException, FieldError } from '../common/errors/app.exception';
import { renderError } from '../common/errors/all-exceptions.filter';
import { checkJsonBody } from '../common/http/json-body-guard';
import type { MessageResponseDto } from '../messages';

/** What a failed request is answered with: the HTTP error body's fields, and `code` = `error`. */
export interface RequestErrorData {
  statusCode: number;
  error: string;
  code: string;
  message: string;
  /** The socket's: the one its upgrade answered with in X-Correlation-ID. */
  correlationId: string;
  details?: FieldError[];
  retryAfter?: number;
}

/** What the server sends: a turn's events exactly as SSE carries them, and request answers. */
export type ServerMessage =
  | { type: string; id: number; conversationId: string; data: unknown }
  /** An owner event (after events.subscribe): no id, no conversationId. */
  | { type: string; data: object }
  | { type: 'events.subscribed' | 'events.unsubscribed'; requestId?: string }
  | { type: 'error'; conversationId?: string; requestId?: string; data: RequestErrorData }
  | {
      type: 'cancelled';
      conversationId: string;
      requestId?: string;
      data: { assistantMessage: MessageResponseDto | null };
    };

/** What a failed request echoes of itself, so the client can tell which one it was. */
export interface Echo {
  conversationId?: string;
  requestId?: string;
}

const ECHO_MAX = 200;

const echoable = (value: unknown): string | undefined =>
  typeof value === 'string' && value.length <= ECHO_MAX ? value : undefined;

/** The echo of a message that may not have passed validation. */
export function echoOf(raw: Record<string, unknown> | undefined): Echo {
  return { conversationId: echoable(raw?.conversationId), requestId: echoable(raw?.requestId) };
}

export function requestError(
  error: AppException,
  echo: Echo,
  correlationId: string,
): ServerMessage {
  const { body } = renderError(error) as NonNullable<ReturnType<typeof renderError>>;
  const data: RequestErrorData = {
    statusCode: body.statusCode,
    error: body.error,
    code: body.error,
    message: body.message,
    correlationId,
  };
  if (body.details) data.details = body.details;
  if (error.retryAfter !== undefined) data.retryAfter = error.retryAfter;
  return { type: 'error', ...echo, data };
}

export type ClientMessage = Record<string, unknown> & { type: string };

/** A parsed client message, what is wrong with it, or both (echoed, then refused). */
export interface ParsedMessage {
  message?: ClientMessage;
  error?: AppException;
}

function text(data: Buffer | ArrayBuffer | Buffer[]): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.from(data).toString('utf8');
}

/**
 * A client message: a JSON object with a string `type`, else `invalid_message` (the
 * socket stays open). Its content is held to the HTTP body rules (depth, keys, text
 * PostgreSQL can store) before any DTO sees it.
 */
export function parseClientMessage(
  data: Buffer | ArrayBuffer | Buffer[],
  isBinary: boolean,
): ParsedMessage {
  if (isBinary) return { error: invalidMessage('Send JSON text messages, not binary ones') };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text(data));
  } catch {
    return { error: invalidMessage('The message is not valid JSON') };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    return { error: invalidMessage('The message must be a JSON object with a "type"') };
  const message = parsed as Record<string, unknown>;
  if (typeof message.type !== 'string')
    return {
      error: invalidMessage('The message must have a "type": message.send, cancel or resume'),
    };
  return { message: message as ClientMessage, error: checkJsonBody(message) };
}

export function invalidMessage(message: string): AppException {
  return new AppException('invalid_message', message);
}
