import { AppException, ValidationFailedException } from '../common/errors/app.exception';
import type { CreateResponseDto, ResponseInput } from './dto/create-response.dto';

/** A message of the input, in our terms: `developer` is `system`. */
export interface InputMessage {
  role: 'user' | 'assistant' | 'system';
  text: string;
}

/** An input item as read: a message, or a reference to a stored one (resolved by the service). */
export type InputEntry =
  { kind: 'message'; message: InputMessage } | { kind: 'reference'; id: string };

const ROLES: Record<string, InputMessage['role']> = {
  user: 'user',
  assistant: 'assistant',
  system: 'system',
  developer: 'system',
};
const TEXT_PARTS = new Set(['input_text', 'output_text', 'text']);
/** Items the model made that a prompt does not need again: skipped, not refused. */
const SKIPPED_ITEMS = new Set(['reasoning']);

/**
 * What this door does not take yet, by name: image and file parts, function calls and
 * their outputs, tools. The one place to change when tools and attachments land here.
 */
export function refuseUnsupported(
  body: Pick<CreateResponseDto, 'input' | 'tools' | 'tool_choice'>,
) {
  const names = new Set<string>();
  if (body.tools?.length) names.add('tools');
  const choice = body.tool_choice;
  if (choice !== undefined && choice !== 'auto' && choice !== 'none') names.add('tool_choice');
  for (const item of Array.isArray(body.input) ? body.input : []) {
    const type = typeof item.type === 'string' ? item.type : 'message';
    if (type !== 'message' && type !== 'item_reference' && !SKIPPED_ITEMS.has(type))
      names.add(type);
    if (type === 'message' && Array.isArray(item.content))
      for (const part of item.content as { type?: unknown }[])
        if (typeof part?.type === 'string' && !TEXT_PARTS.has(part.type)) names.add(part.type);
  }
  if (names.size === 0) return;
  throw new AppException(
    'unsupported_input',
    `This server does not take ${[...names].join(', ')} on /v1/responses yet; send text input items (input_text) without tools`,
  );
}

function invalid(field: string, problem: string): ValidationFailedException {
  return new ValidationFailedException([{ field, errors: [problem] }]);
}

/** A message's text: its string content, or its text parts joined with a newline (as /v1 does). */
function textOf(content: unknown, field: string): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content))
    throw invalid(field, `${field} must be a string or an array of parts`);
  return content
    .map((part: { text?: unknown }, index) => {
      if (typeof part?.text !== 'string')
        throw invalid(`${field}.${index}.text`, 'a text part must have a string text');
      return part.text;
    })
    .join('\n');
}

/** The input as messages and references, in order (refuseUnsupported has run). */
export function readInput(input: ResponseInput): InputEntry[] {
  if (typeof input === 'string')
    return [{ kind: 'message', message: { role: 'user', text: input } }];
  const entries: InputEntry[] = [];
  input.forEach((item, index) => {
    const field = `input.${index}`;
    if (item.type === 'item_reference') {
      if (typeof item.id !== 'string')
        throw invalid(`${field}.id`, 'an item_reference needs an id');
      entries.push({ kind: 'reference', id: item.id });
      return;
    }
    if (typeof item.type === 'string' && SKIPPED_ITEMS.has(item.type)) return;
    const role = typeof item.role === 'string' ? ROLES[item.role] : undefined;
    if (!role) throw invalid(`${field}.role`, 'role must be user, assistant, system or developer');
    entries.push({
      kind: 'message',
      message: { role, text: textOf(item.content, `${field}.content`) },
    });
  });
  return entries;
}

/** The input split the way a turn takes it: system text, messages stored first, the new message. */
export interface TurnParts {
  system: string[];
  earlier: InputMessage[];
  message: string;
}

export function splitForTurn(messages: InputMessage[]): TurnParts {
  const last = messages.at(-1);
  if (!last || last.role !== 'user') {
    throw new AppException(
      'unsupported_input',
      'The last input item must be a user message: it is the message this response answers',
    );
  }
  return {
    system: messages.filter((m) => m.role === 'system').map((m) => m.text),
    earlier: messages.slice(0, -1).filter((m) => m.role !== 'system'),
    message: last.text,
  };
}
