import { toMessageResponse } from '../messages';
import { TurnResponseDto } from './dto/turn-response.dto';
import type { ChatEvent, Turn, TurnOutcome } from './turn';
import type { SseSource } from './sse-writer';
import { RemoteTurn } from './remote-turn';

/** The SSE payload of each event. */
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
      return { assistantMessage, usage: assistantMessage.usage, context: assistantMessage.context };
    }
    case 'conversation.updated': {
      const { id, title, topics } = event.conversation;
      return { id, title, topics };
    }
    case 'error': {
      const { code, message, retryAfter } = event.failure;
      return {
        code,
        message,
        ...(retryAfter !== undefined && { retryAfter }),
        assistantMessage: event.assistantMessage && toMessageResponse(event.assistantMessage),
      };
    }
  }
}

/** The turn's events as SSE frames, from event index `from` on (a mirrored turn has frames already). */
export function toSseSource(turn: Turn | RemoteTurn, from = 0): SseSource {
  if (turn instanceof RemoteTurn) return turn.source(from);
  return {
    listen: (write) =>
      turn.listen(from, (index, event) =>
        write({ id: turn.eventId(index), event: event.type, data: toSseData(event) }),
      ),
    done: turn.outcome,
  };
}

/** A finished turn as the whole-reply endpoint answers it; a failed one throws its failure. */
export function toTurnResponse(outcome: TurnOutcome): TurnResponseDto {
  const { assistantMessage, userMessage, failure } = outcome;
  if (failure) throw failure;
  if (!assistantMessage) throw new Error('a turn without failure has a stored reply');
  const assistant = toMessageResponse(assistantMessage);
  return {
    response: assistant.content,
    model: assistant.model ?? '',
    userMessage: toMessageResponse(userMessage),
    assistantMessage: assistant,
    usage: assistant.usage,
    latencyMs: assistant.latencyMs ?? 0,
    context: assistant.context,
  };
}
