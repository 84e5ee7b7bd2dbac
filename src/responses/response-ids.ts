import { AppException } from '../common/errors/app.exception';
import type { ErrorCode } from '../common/errors/error-codes';

/**
 * This door names our ids as OpenAI names its own: a prefix and the UUID's 32 hex digits
 * (`resp_0193…`). The same UUID everywhere: a response and its output message are the
 * stored reply (`resp_X`, `msg_X`), its reasoning item `rs_X`, a conversation `conv_Y`.
 * A bare UUID (as /api/v1 shows it) is taken too.
 */
const PREFIXES = { response: 'resp', conversation: 'conv', message: 'msg', reasoning: 'rs' };

export type IdKind = keyof typeof PREFIXES;

const NOT_FOUND: Record<IdKind, ErrorCode> = {
  response: 'response_not_found',
  conversation: 'conversation_not_found',
  message: 'message_not_found',
  reasoning: 'message_not_found',
};

const HEX = /^[0-9a-f]{32}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function toOpenAiId(kind: IdKind, uuid: string): string {
  return `${PREFIXES[kind]}_${uuid.replaceAll('-', '')}`;
}

/** The UUID behind an id of this door; an id of another kind or shape names nothing (404). */
export function parseOpenAiId(kind: IdKind, id: string): string {
  const lower = id.toLowerCase();
  if (UUID.test(lower)) return lower;
  const prefix = `${PREFIXES[kind]}_`;
  const hex = lower.startsWith(prefix) ? lower.slice(prefix.length) : '';
  if (!HEX.test(hex)) {
    throw new AppException(
      NOT_FOUND[kind],
      `No ${kind} found with id '${id}'; ids of this door look like ${prefix}<32 hex digits>`,
    );
  }
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * A reply's function call as an output item: `fc_`, the reply's 32 hex digits and the
 * call's index as 4 more, so a call sent back (or referenced) names its reply.
 */
export function toCallItemId(replyId: string, index: number): string {
  return `fc_${replyId.replaceAll('-', '')}${index.toString(16).padStart(4, '0')}`;
}

/** The reply (a response's UUID) a call item id names. */
export function replyOfCall(id: string): string {
  const hex = id.toLowerCase().slice('fc_'.length, 'fc_'.length + 32);
  return parseOpenAiId('response', `resp_${hex}`);
}

/** An item of a conversation is a message; its reasoning (`rs_`) and calls (`fc_`) name the same message. */
export function parseItemId(id: string): string {
  if (id.toLowerCase().startsWith('fc_')) return replyOfCall(id);
  return parseOpenAiId(id.toLowerCase().startsWith('rs_') ? 'reasoning' : 'message', id);
}
