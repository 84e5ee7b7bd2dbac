import type { Message } from '../history/message';
import { TextSlice, Turn, type TurnOutcome } from './turn';

/**
 * A streamed reply's event boundaries, stored with it when it ends, so that a finished
 * turn replayed for an idempotent re-POST sends the events it first sent, under the same
 * ids, and a `Last-Event-ID` resumes it exactly. One integer per event after
 * `message.created` and before the last: an answer delta is the length of the answer up to
 * its end (at least 1), a reasoning delta `-(end + 1)` in the stored (trimmed) reasoning,
 * any other event 0 (a replay leaves its id unused).
 */
export function streamMarks(turn: Turn, storedReasoning: string | null): number[] {
  // The stored reasoning is trimmed: its offsets start after the leading blanks.
  const lead = turn.reasoning.length - turn.reasoning.trimStart().length;
  const reasoningLength = storedReasoning?.length ?? 0;
  return turn.events.slice(1).map((event) => {
    if (!(event instanceof TextSlice)) return 0;
    if (event.field === 'text') return event.end;
    return -(Math.min(Math.max(event.end - lead, 0), reasoningLength) + 1);
  });
}

/**
 * Pushes the events `marks` describe onto a replayed turn. False (nothing pushed) when
 * they do not add up to the stored reply: it is then replayed whole.
 */
function replayMarks(turn: Turn, reply: Message, marks: readonly number[]): boolean {
  const reasoning = reply.reasoning ?? '';
  let answerEnd = 0;
  let reasoningEnd = 0;
  for (const mark of marks) {
    if (mark > 0 ? mark < answerEnd : mark < 0 && -mark - 1 < reasoningEnd) return false;
    if (mark > 0) answerEnd = mark;
    if (mark < 0) reasoningEnd = -mark - 1;
  }
  if (answerEnd !== reply.content.length || reasoningEnd > reasoning.length) return false;
  answerEnd = reasoningEnd = 0;
  for (const mark of marks) {
    if (mark > 0 && mark > answerEnd) {
      turn.push({ type: 'message.delta', delta: reply.content.slice(answerEnd, mark) });
      answerEnd = mark;
    } else if (mark < 0 && -mark - 1 > reasoningEnd) {
      turn.push({ type: 'message.reasoning', delta: reasoning.slice(reasoningEnd, -mark - 1) });
      reasoningEnd = -mark - 1;
    } else {
      turn.skip();
    }
  }
  return true;
}

/**
 * Finished turns replayed for an idempotent retry look like a turn that already ended:
 * with its stream marks, the events it first sent under the same ids (so a Last-Event-ID
 * resumes it exactly); without them (a reply finalised by a sweep, one stored before marks
 * were), the message, its whole text as one delta, and the end.
 */
export function finishedTurn(
  outcome: TurnOutcome & { assistantMessage: Message },
  marks: readonly number[],
): Turn {
  const { userMessage, assistantMessage } = outcome;
  const turn = new Turn(
    userMessage.conversationId,
    assistantMessage.id,
    assistantMessage.seq,
    assistantMessage.model ?? '',
  );
  turn.push({
    type: 'message.created',
    userMessage,
    assistantMessageId: assistantMessage.id,
  });
  if (!replayMarks(turn, assistantMessage, marks)) {
    turn.wholeText = true;
    if (assistantMessage.content)
      turn.push({ type: 'message.delta', delta: assistantMessage.content });
  }
  turn.end(outcome);
  return turn;
}
