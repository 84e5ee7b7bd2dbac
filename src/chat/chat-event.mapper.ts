import type { OwnerEvents } from '../cluster/owner-events';
import { toMessageResponse } from '../messages';
import { TurnResponseDto } from './dto/turn-response.dto';
import type { ChatEvent, Turn, TurnOutcome } from './turn';
import type { TurnEventSource } from './turn-events';
import { RemoteTurn } from './remote-turn';

/** The SSE payload of each event. */
export function toEventPayload(event: ChatEvent): unknown {
  switch (event.type) {
    case 'message.created':
      return {
        userMessage: toMessageResponse(event.userMessage),
        assistantMessageId: event.assistantMessageId,
        ...(event.toolMessages && { toolMessages: event.toolMessages.map(toMessageResponse) }),
      };
    case 'tool.call': {
      const { assistantMessageId, toolCall, server } = event;
      return { assistantMessageId, toolCall, server };
    }
    case 'tool.result': {
      const { assistantMessageId, toolCallId, output, isError } = event;
      return { assistantMessageId, toolCallId, output, isError };
    }
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
      // The REST error body's fields (correlationId is the follower's, see turnEventSource), and
      // `code`, which clients read before those were there.
      const { status, code, message, retryAfter } = event.failure;
      return {
        statusCode: status,
        error: code,
        code,
        message,
        ...(retryAfter !== undefined && { retryAfter }),
        assistantMessage: event.assistantMessage && toMessageResponse(event.assistantMessage),
      };
    }
  }
}

/**
 * The turn's events as SSE frames, from event index `from` on (a mirrored turn has frames
 * already). An `error` frame carries the `correlationId` of the request or socket it is
 * delivered to, as an HTTP error body does.
 */
export function turnEventSource(
  turn: Turn | RemoteTurn,
  from = 0,
  correlationId?: string,
): TurnEventSource {
  const source: TurnEventSource =
    turn instanceof RemoteTurn
      ? turn.source(from)
      : {
          listen: (write) =>
            turn.listen(from, (index, event) =>
              write({ id: turn.eventId(index), event: event.type, data: toEventPayload(event) }),
            ),
          done: turn.outcome,
        };
  if (correlationId === undefined) return source;
  return {
    listen: (write) =>
      source.listen((frame) =>
        write(
          frame.event === 'error'
            ? { ...frame, data: { ...(frame.data as object), correlationId } }
            : frame,
        ),
      ),
    done: source.done,
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

/**
 * The owner's events as one SSE connection sends them: typed by name, with ids that
 * increase within the connection (no resume: a client refetches after a reconnect).
 */
export function toOwnerEventSource(events: OwnerEvents, ownerId: string): TurnEventSource {
  let id = 0;
  return {
    listen: (write) =>
      events.subscribe(ownerId, ({ type, data }) => write({ id: ++id, event: type, data })),
    done: events.closed,
    ready: () => events.listening(ownerId),
  };
}
