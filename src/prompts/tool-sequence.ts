import type { ChatMessage, ToolCall } from '../llm/llm.types';
import type { HistoryMessage } from './prompt-manager';

/**
 * The stored history as providers take it, in OpenAI's tool sequence: an assistant message
 * with its `tool_calls`, then one `tool` message per call. Providers reject a call without
 * all its results, so a reply whose calls were never answered (the user went on talking)
 * is sent without them, and a result whose call is not in the prompt is left out.
 * `input` is what the turn adds after the history: results there answer the last reply.
 */
export function toChatHistory(history: HistoryMessage[], input: ChatMessage[]): ChatMessage[] {
  const out: ChatMessage[] = [];
  for (let i = 0; i < history.length; i++) {
    const message = history[i];
    if (message.role === 'tool') continue; // sent after the call it answers, below
    if (message.role !== 'assistant' || !message.toolCalls?.length) {
      out.push(plain(message));
      continue;
    }
    const results = resultsAfter(history, i + 1);
    const followers = i + 1 + results.length === history.length ? input : [];
    const answered = [...results.map(toolMessage), ...followers.filter((m) => m.role === 'tool')];
    if (answersAll(message.toolCalls, answered)) {
      out.push({ role: 'assistant', content: message.content, toolCalls: message.toolCalls });
      out.push(...results.map(toolMessage));
    } else if (message.content.length > 0) {
      out.push({ role: 'assistant', content: message.content });
    }
  }
  return out;
}

function plain({ role, content, speakerName, images }: HistoryMessage): ChatMessage {
  const message: ChatMessage = speakerName
    ? { role, content, name: speakerName }
    : { role, content };
  if (images?.length) message.images = images;
  return message;
}

function toolMessage(message: HistoryMessage): ChatMessage {
  return { role: 'tool', content: message.content, toolCallId: message.toolCallId ?? '' };
}

/** The tool messages that directly follow position `from`. */
function resultsAfter(history: HistoryMessage[], from: number): HistoryMessage[] {
  let end = from;
  while (end < history.length && history[end].role === 'tool') end++;
  return history.slice(from, end);
}

function answersAll(calls: ToolCall[], results: ChatMessage[]): boolean {
  const ids = new Set(results.map((r) => r.toolCallId));
  return calls.every((call) => ids.has(call.id));
}
