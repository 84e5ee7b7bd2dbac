import { createParser, type EventSourceMessage } from 'eventsource-parser';

import type { ApiClient } from './api-client';
import type { Message, Usage } from './api-types';
import { ApiError, CliError } from './errors';

export interface TurnListener {
  /** The user message is stored and the reply has an id: from now on it can be cancelled. */
  onCreated?(userMessage: Message): void;
  onDelta?(text: string): void;
}

/** A finished turn: the shape of POST …/messages's answer, plus where it happened. */
export interface TurnResult {
  conversationId: string;
  response: string;
  model: string;
  userMessage: Message;
  assistantMessage: Message;
  usage: Usage | null;
  latencyMs: number;
}

interface Created {
  userMessage: Message;
}
interface Completed {
  assistantMessage: Message;
  usage: Usage | null;
}
interface Failed {
  code: string;
  message: string;
  assistantMessage?: Message | null;
}

/**
 * Sends one message over POST …/messages/stream and reads the Server-Sent Events until the
 * turn ends. Resolves with the stored reply; rejects with ApiError on an `error` event.
 */
export async function streamTurn(
  client: ApiClient,
  conversationId: string,
  body: { message: string; model?: string },
  listener: TurnListener,
  signal?: AbortSignal,
): Promise<TurnResult> {
  const response = await client.open('POST', `/conversations/${conversationId}/messages/stream`, {
    body,
    accept: 'text/event-stream',
    signal,
  });
  let created: Created | undefined;
  let end: { completed?: Completed; failed?: Failed } | undefined;
  const parser = createParser({
    onEvent: (event: EventSourceMessage) => {
      if (event.event === 'message.created') {
        created = JSON.parse(event.data) as Created;
        listener.onCreated?.(created.userMessage);
      } else if (event.event === 'message.delta') {
        listener.onDelta?.((JSON.parse(event.data) as { delta: string }).delta);
      } else if (event.event === 'message.completed') {
        end = { completed: JSON.parse(event.data) as Completed };
      } else if (event.event === 'error') {
        end = { failed: JSON.parse(event.data) as Failed };
      }
    },
  });
  await readEvents(client, response, (text) => {
    parser.feed(text);
    return end !== undefined;
  });
  if (end?.failed) {
    const { code, message, ...rest } = end.failed;
    throw new ApiError(code, message, undefined, rest);
  }
  if (!end?.completed || !created)
    throw new CliError('the stream ended before the reply did; see GET …/generation');
  return toTurnResult(conversationId, created, end.completed);
}

/** Feeds the body to `consume` until it says the turn is over or the server closes. */
async function readEvents(
  client: ApiClient,
  response: Response,
  consume: (text: string) => boolean,
): Promise<void> {
  if (!response.body) return;
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done || consume(value)) return;
    }
  } catch (error) {
    throw client.translate(error);
  } finally {
    reader.cancel().catch(() => undefined);
  }
}

function toTurnResult(conversationId: string, created: Created, completed: Completed): TurnResult {
  const assistant = completed.assistantMessage;
  return {
    conversationId,
    response: assistant.content,
    model: assistant.model ?? '',
    userMessage: created.userMessage,
    assistantMessage: assistant,
    usage: completed.usage,
    latencyMs: assistant.latencyMs ?? 0,
  };
}
