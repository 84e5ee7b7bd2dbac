import { AppException } from '../common/errors/app.exception';
import { isErrorCode, isTransient } from '../common/errors/error-codes';
import type { Message } from '../history/message';

/** An edit names a reply, or a regenerate a message that answers no user message. */
export class WrongMessageRoleException extends AppException {
  constructor(anchor: 'edit' | 'regenerate' | 'after') {
    super(
      'wrong_message_role',
      anchor === 'edit'
        ? 'Only a user message can be edited; to get another reply use …/regenerate'
        : 'Regenerate takes an assistant reply (or the user message or tool result it answered)',
    );
  }
}

/** Tool results for a message that is not a reply waiting for them. */
export class MessageNotWaitingException extends AppException {
  constructor(messageId: string) {
    super(
      'message_not_waiting',
      `Message ${messageId} is not waiting for tool results: only a reply with status requires_action takes them, once`,
    );
  }
}

export class NoActiveGenerationException extends AppException {
  constructor() {
    super('no_active_generation', 'No turn is running on this conversation');
  }
}

export class TooManyGenerationsException extends AppException {
  constructor(max: number) {
    super(
      'too_many_generations',
      `At most ${max} replies may be generated at once; wait for one to finish`,
      { retryAfter: 1 },
    );
  }
}

/** The failure a stored reply ended with, as it was answered the first time. */
export function storedFailure(message: Pick<Message, 'errorCode' | 'errorMessage'>): AppException {
  const code = message.errorCode ?? 'internal_error';
  return new AppException(
    isErrorCode(code) ? code : 'provider_error',
    message.errorMessage ?? 'The original request failed',
  );
}

/** Seconds a client is asked to wait before sending a turn that failed transiently again. */
const TRANSIENT_RETRY_AFTER_SECONDS = 1;

/**
 * A turn's failure as the client gets it: naming the messages the turn stored, with
 * Retry-After when sending it again can succeed and only then.
 */
export function turnFailure(
  failure: AppException,
  messageIds: { userMessageId: string; assistantMessageId: string },
): AppException {
  const retryAfter = isTransient(failure.code)
    ? (failure.retryAfter ?? TRANSIENT_RETRY_AFTER_SECONDS)
    : undefined;
  return new AppException(failure.code, failure.message, {
    ...failure.extras,
    retryAfter,
    messageIds,
  });
}
