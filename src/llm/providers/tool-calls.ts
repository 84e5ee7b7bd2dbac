import { randomBytes } from 'node:crypto';

import { unstorableTextReason } from '../../common/text/storable-text';
import { LlmException } from '../llm.errors';
import type { ToolCall, ToolCallDelta } from '../llm.types';

/**
 * What a provider may send as tool calls: the calls are input, so they are bounded before
 * anything holds or stores them. OpenAI allows 128 tools per request; no reply needs more
 * than a few dozen calls, nor arguments measured in megabytes.
 */
export const TOOL_CALL_LIMITS = {
  maxCalls: 64,
  /** UTF-8 bytes of all the calls' arguments together. */
  maxArgumentBytes: 256 * 1024,
  /** Characters of a call id: clients send it back, and /v1 takes up to this many. */
  maxIdLength: 256,
} as const;

/** OpenAI's rule for function names, which every client relies on. */
export const TOOL_NAME_PATTERN = /^[a-zA-Z0-9_-]{1,64}$/;

/** A tool call as both SDKs return it (whole), or a piece of one (streamed, with its index). */
export interface SdkToolCall {
  index?: number;
  id?: string | null;
  type?: string | null;
  function?: { name?: string | null; arguments?: string | null } | null;
}

/** Servers that leave the id out (some local ones) get one, unique enough for a conversation. */
function newCallId(): string {
  return `call_${randomBytes(12).toString('hex')}`;
}

function invalid(label: string, what: string): LlmException {
  return new LlmException(
    'provider_invalid_tool_calls',
    `${label} sent tool calls this service does not accept: ${what}`,
  );
}

function checkName(label: string, name: string): void {
  if (!TOOL_NAME_PATTERN.test(name))
    throw invalid(
      label,
      `the name ${JSON.stringify(name.slice(0, 80))} is not 1-64 of A-Z a-z 0-9 _ -`,
    );
}

function checkId(label: string, id: string): void {
  if (id.length > TOOL_CALL_LIMITS.maxIdLength)
    throw invalid(label, `a call id longer than ${TOOL_CALL_LIMITS.maxIdLength} characters`);
  const unstorable = unstorableTextReason(id);
  if (unstorable) throw invalid(label, `a call id that ${unstorable}`);
}

function checkCount(label: string, count: number): void {
  if (count > TOOL_CALL_LIMITS.maxCalls)
    throw invalid(label, `more than ${TOOL_CALL_LIMITS.maxCalls} calls in one reply`);
}

function checkBytes(label: string, bytes: number): void {
  if (bytes > TOOL_CALL_LIMITS.maxArgumentBytes)
    throw invalid(label, `arguments larger than ${TOOL_CALL_LIMITS.maxArgumentBytes} bytes in all`);
}

/**
 * A model that calls a function without parameters may send no arguments at all; `{}` is
 * what it means and what every client can parse.
 */
const argumentsOf = (text: string): string => (text === '' ? '{}' : text);

/** A whole reply's tool calls, checked; throws provider_invalid_tool_calls past the bounds. */
export function readToolCalls(label: string, calls: SdkToolCall[] | null | undefined): ToolCall[] {
  if (!calls?.length) return [];
  checkCount(label, calls.length);
  let bytes = 0;
  return calls.map((call) => {
    if (call.type != null && call.type !== 'function')
      throw invalid(label, `a call of type "${call.type}", not "function"`);
    const name = call.function?.name ?? '';
    checkName(label, name);
    if (call.id) checkId(label, call.id);
    const args = call.function?.arguments ?? '';
    bytes += Buffer.byteLength(args);
    checkBytes(label, bytes);
    return { id: call.id || newCallId(), name, arguments: argumentsOf(args) };
  });
}

/**
 * Puts streamed tool-call pieces together, checking each as it comes, so a hostile stream
 * is cut at the piece that breaks a bound rather than held whole.
 */
export class ToolCallAssembler {
  private readonly calls: { id: string | null; name: string; arguments: string }[] = [];
  private bytes = 0;

  constructor(private readonly label: string) {}

  /** One upstream piece as our chunk; throws provider_invalid_tool_calls past the bounds. */
  push(piece: SdkToolCall): ToolCallDelta {
    const index = piece.index ?? 0;
    if (!Number.isInteger(index) || index < 0)
      throw invalid(this.label, `a call with index ${String(index)}`);
    checkCount(this.label, index + 1);
    if (piece.type != null && piece.type !== 'function')
      throw invalid(this.label, `a call of type "${piece.type}", not "function"`);
    // Indexes come in order; one that skips ahead leaves holes, filled as they come.
    while (this.calls.length <= index) this.calls.push({ id: null, name: '', arguments: '' });
    const call = this.calls[index];
    const name = piece.function?.name;
    if (name) {
      checkName(this.label, name);
      call.name = name;
    }
    if (piece.id) {
      checkId(this.label, piece.id);
      call.id = piece.id;
    }
    const args = piece.function?.arguments ?? '';
    this.bytes += Buffer.byteLength(args);
    checkBytes(this.label, this.bytes);
    call.arguments += args;
    return {
      type: 'tool_call',
      index,
      ...(piece.id && { id: piece.id }),
      ...(name && { name }),
      arguments: args,
    };
  }

  /** The calls as they ended; a call that never got a name is a broken reply. */
  finish(): ToolCall[] {
    return this.calls.map((call, index) => {
      if (!call.name) throw invalid(this.label, `call ${index} has no function name`);
      return {
        id: call.id ?? newCallId(),
        name: call.name,
        arguments: argumentsOf(call.arguments),
      };
    });
  }
}
