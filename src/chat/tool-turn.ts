import { AppException, ValidationFailedException } from '../common/errors/app.exception';
import { ToolChoiceDto, toToolChoice } from '../llm/dto/tools.dto';
import type { Message } from '../history/message';
import type { ReadWindow } from '../history/memory-mark';
import type { ChatMessage, ToolCall, ToolChoice, ToolDefinition } from '../llm/llm.types';
import type { ServerToolSet } from '../tools';
import type { ToolResultsDto } from './dto/turn-tools.dto';
import type { Turn } from './turn';
import type { TurnInput } from './turn-runner';
import type { ToolMessageRow, ToolResult, TurnAnchor } from './turns.types';

/**
 * What a turn's begin stored before its reply, and the history it read: `userMessage` is
 * the message the reply answers (the user's, or the last tool result), `toolMessages` every
 * tool result stored (empty for a message).
 */
export type BegunTurn = { userMessage: Message; toolMessages: Message[] } & ReadWindow;

/** A tool-results request (HTTP body or WebSocket frame) as the turn takes it. */
export function toolResultsInput(
  messageId: string,
  { results, model, params, tools, toolChoice, serverTools }: ToolResultsDto,
  mode: TurnInput['mode'],
  idempotencyKey: string | undefined,
  correlationId: string,
): TurnInput {
  const answers = results.map(({ toolCallId, output }) => ({ toolCallId, output }));
  return {
    ...{ message: null, toolResults: { messageId, results: answers } },
    ...{ model, params, tools, toolChoice, serverTools, mode, idempotencyKey, correlationId },
  };
}

export function turnAnchor(input: TurnInput): TurnAnchor {
  return input.toolResults ? 'tool_results' : (input.branch?.anchor ?? 'leaf');
}

/**
 * The results in the order of the calls they answer; every call answered once, none
 * unknown. Checked once the turn holds the waiting reply, so the calls cannot change.
 */
export function checkToolResults(calls: ToolCall[], results: ToolResult[]): ToolResult[] {
  const byId = new Map<string, ToolResult>();
  const callIds = new Set(calls.map((call) => call.id));
  for (const result of results) {
    if (!callIds.has(result.toolCallId))
      throw new AppException(
        'unknown_tool_call',
        `The reply made no tool call "${result.toolCallId}"; its calls are: ${[...callIds].join(', ')}`,
      );
    if (byId.has(result.toolCallId))
      throw new AppException(
        'duplicate_tool_result',
        `Tool call "${result.toolCallId}" has more than one result; send one per call`,
      );
    byId.set(result.toolCallId, result);
  }
  const missing = calls.filter((call) => !byId.has(call.id));
  if (missing.length > 0)
    throw new AppException(
      'tool_results_incomplete',
      `Every call needs its result; missing: ${missing.map((c) => `${c.id} (${c.name})`).join(', ')}`,
    );
  return calls.map((call) => byId.get(call.id) as ToolResult);
}

/** The tool choice a turn asks for; one naming a tool not offered is refused. */
export function chosenTool(choice: ToolChoiceDto, tools: ToolDefinition[]): ToolChoice {
  const chosen = toToolChoice(choice);
  if (typeof chosen === 'object' && !tools.some((tool) => tool.name === chosen.name))
    throw new ValidationFailedException([
      {
        field: 'toolChoice',
        errors: [
          `toolChoice names "${chosen.name}", which is not among the tools offered: ${tools.map((t) => t.name).join(', ')}`,
        ],
      },
    ]);
  return chosen;
}

/** The calls of a reply the runner makes itself: every one a server tool, else none. */
export function serverStep(
  reply: { failure: unknown; toolCalls: ToolCall[] },
  tools: ServerToolSet | null,
): ToolCall[] | null {
  if (reply.failure || reply.toolCalls.length === 0 || !tools) return null;
  return reply.toolCalls.every((call) => tools.has(call.name)) ? reply.toolCalls : null;
}

/**
 * Calls a server step's tools at once, announcing each result as it comes; a failure is a
 * result the model reads. A cancel ends the calls (they resolve as cancelled).
 */
export async function runServerTools(
  turn: Turn,
  calls: ToolCall[],
  tools: ServerToolSet,
): Promise<ToolResult[]> {
  const { assistantMessageId } = turn;
  return Promise.all(
    calls.map(async (call) => {
      const { output, isError } = await tools.call(call.name, call.arguments, turn.signal);
      turn.push({ type: 'tool.result', assistantMessageId, toolCallId: call.id, output, isError });
      return { toolCallId: call.id, output };
    }),
  );
}

/** The tool messages to store: one per result, chained after the waiting reply. */
export function toolMessageRows(
  results: ToolResult[],
  ids: string[],
  tokenCounts: number[],
  waitingId: string,
  firstSeq: number,
): ToolMessageRow[] {
  return results.map((result, i) => ({
    id: ids[i],
    parentId: i === 0 ? waitingId : ids[i - 1],
    seq: firstSeq + i,
    toolCallId: result.toolCallId,
    content: result.output,
    tokenCount: tokenCounts[i],
  }));
}

/**
 * What the prompt adds after the history: the user message, or the tool results (none
 * when a tool step is answered again: its results end the history).
 */
export function promptInput(begun: BegunTurn, message: string): ChatMessage[] {
  if (begun.userMessage.role === 'tool' && begun.toolMessages.length === 0) return [];
  if (begun.toolMessages.length > 0)
    return begun.toolMessages.map((m) => ({
      role: 'tool',
      content: m.content,
      toolCallId: m.toolCallId ?? '',
    }));
  const name = begun.userMessage.speakerName;
  return [name ? { role: 'user', content: message, name } : { role: 'user', content: message }];
}
