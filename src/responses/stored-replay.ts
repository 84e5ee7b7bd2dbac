import type { TurnEventFrame, TurnEventSource } from '../chat';
import { toMessageResponse } from '../messages';
import type { StoredReply } from './responses.repository';

/**
 * The frames a finished reply's stream sent, rebuilt from its stored stream marks (see
 * src/chat/stream-marks.ts, which writes them): the same deltas, so the same response
 * events and sequence numbers as the live stream had. Marks that do not add up to the
 * stored text (a reply finalised by a sweep) give the whole text as one delta.
 */
function deltasOf(reply: StoredReply): TurnEventFrame[] {
  const frame = (event: string, delta: string): TurnEventFrame => ({
    id: 0,
    event,
    data: { delta },
  });
  const whole = reply.content ? [frame('message.delta', reply.content)] : [];
  const reasoning = reply.reasoning ?? '';
  const frames: TurnEventFrame[] = [];
  let answerEnd = 0;
  let reasoningEnd = 0;
  for (const mark of reply.streamMarks) {
    if (mark > answerEnd) {
      frames.push(frame('message.delta', reply.content.slice(answerEnd, mark)));
      answerEnd = mark;
    } else if (mark < 0 && -mark - 1 > reasoningEnd) {
      frames.push(frame('message.reasoning', reasoning.slice(reasoningEnd, -mark - 1)));
      reasoningEnd = -mark - 1;
    } else if ((mark > 0 && mark < answerEnd) || (mark < 0 && -mark - 1 < reasoningEnd)) {
      return whole;
    }
  }
  return answerEnd === reply.content.length && reasoningEnd <= reasoning.length ? frames : whole;
}

export function storedReplySource(reply: StoredReply): TurnEventSource {
  const message = toMessageResponse(reply);
  const frames: TurnEventFrame[] = [
    { id: 0, event: 'message.created', data: {} },
    ...deltasOf(reply),
    reply.errorCode
      ? {
          id: 0,
          event: 'error',
          data: { error: reply.errorCode, message: reply.errorMessage, assistantMessage: message },
        }
      : { id: 0, event: 'message.completed', data: { assistantMessage: message } },
  ];
  return {
    listen: (write) => {
      frames.forEach(write);
      return () => undefined;
    },
    done: Promise.resolve(),
  };
}
