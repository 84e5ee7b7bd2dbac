import { AppException } from '../common/errors/app.exception';
import { isErrorCode } from '../common/errors/error-codes';
import type { ChatEvent, Generation, TurnOutcome } from './generation';
import { toMessageResponse } from '../messages/message.mapper';
import type { SseSource } from './sse-writer';
import { TurnResponseDto } from './dto/turn-response.dto';

/** The SSE payload of each event; ids are the event's position, from 1. */
export function toSseData(event: ChatEvent): unknown {
  switch (event.type) {
    case 'message.created':
      return {
        userMessage: toMessageResponse(event.userMessage),
        assistantMessageId: event.assistantMessageId,
      };
    case 'message.delta':
    case 'message.reasoning':
      return { delta: event.delta };
    case 'message.completed': {
      const assistantMessage = toMessageResponse(event.assistantMessage);
      return { assistantMessage, usage: assistantMessage.usage };
    }
    case 'error':
      return {
        code: event.code,
        message: event.message,
        assistantMessage: event.assistantMessage && toMessageResponse(event.assistantMessage),
      };
  }
}

/** The generation's events as SSE frames, from event index `from` on. */
export function toSseSource(generation: Generation, from = 0): SseSource {
  return {
    listen: (write) =>
      generation.listen(from, (index, event) =>
        write({ id: index + 1, event: event.type, data: toSseData(event) }),
      ),
    done: generation.outcome,
  };
}

/** A finished turn as the whole-reply endpoint answers it, or its error. */
export function toTurnResponse(outcome: TurnOutcome): TurnResponseDto {
  const { assistantMessage, userMessage, error } = outcome;
  if (error || !assistantMessage) {
    throw new AppException(
      error && isErrorCode(error.code) ? error.code : 'internal_error',
      error?.message ?? 'The reply failed',
    );
  }
  const assistant = toMessageResponse(assistantMessage);
  return {
    response: assistant.content,
    model: assistant.model ?? '',
    userMessage: toMessageResponse(userMessage),
    assistantMessage: assistant,
    usage: assistant.usage,
    latencyMs: assistant.latencyMs ?? 0,
  };
}
