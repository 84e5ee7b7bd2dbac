import { MAX_ATTACHMENTS } from '../chat';
import type { TurnInput } from '../chat';
import { AppException, ValidationFailedException } from '../common/errors/app.exception';
import type { FileRef } from '../files';
import { inlineFilename, parseDataUrl } from '../files';
import { TOOL_NAME } from '../llm/dto/tools.dto';
import type { CreateResponseDto, ResponseInput } from './dto/create-response.dto';

/** A file an `input_image` / `input_file` part names (see FileRef). */
export type InputFile = FileRef;

/** A message of the input, in our terms: `developer` is `system`. */
export interface InputMessage {
  role: 'user' | 'assistant' | 'system';
  text: string;
  /** Its image and file parts, in order (only the user message that starts a turn takes them). */
  files?: InputFile[];
}

/** A function call a response output, sent back by the client (its `fc_` id, when it has one). */
export interface CallEntry {
  kind: 'call';
  itemId?: string;
  callId?: string;
}

/** A function_call_output item: the result of one call. */
export interface OutputEntry {
  kind: 'output';
  callId: string;
  output: string;
}

/** An input item as read: a message, a reference to a stored one (resolved by the service), a call or its output. */
export type InputEntry =
  | { kind: 'message'; message: InputMessage }
  | { kind: 'reference'; id: string }
  | CallEntry
  | OutputEntry;

const ROLES: Record<string, InputMessage['role']> = {
  user: 'user',
  assistant: 'assistant',
  system: 'system',
  developer: 'system',
};
const TEXT_PARTS = new Set(['input_text', 'output_text', 'text']);
const FILE_PARTS = new Set(['input_image', 'input_file']);
/** Items the model made that a prompt does not need again: skipped, not refused. */
const SKIPPED_ITEMS = new Set(['reasoning']);
const TAKEN_ITEMS = new Set(['message', 'item_reference', 'function_call', 'function_call_output']);
const CHOICES = new Set(['auto', 'none', 'required']);

/**
 * What this door does not take yet, by name: tools other than function tools (web_search, file_search, mcp...). The one place to change when they land here.
 */
export function refuseUnsupported(
  body: Pick<CreateResponseDto, 'input' | 'tools' | 'tool_choice'>,
) {
  const names = new Set<string>();
  for (const tool of body.tools ?? [])
    if (tool?.type !== 'function') names.add(`${String(tool?.type)} tools`);
  const choice = body.tool_choice;
  const named = choice as { type?: unknown } | undefined;
  if (choice != null && !CHOICES.has(choice as string) && named?.type !== 'function')
    names.add(
      `tool_choice ${typeof named?.type === 'string' ? named.type : JSON.stringify(choice)}`,
    );
  for (const item of Array.isArray(body.input) ? body.input : []) {
    const type = typeof item.type === 'string' ? item.type : 'message';
    if (!TAKEN_ITEMS.has(type) && !SKIPPED_ITEMS.has(type)) names.add(type);
    if (type === 'message' && Array.isArray(item.content))
      for (const part of item.content as { type?: unknown }[])
        if (
          typeof part?.type === 'string' &&
          !TEXT_PARTS.has(part.type) &&
          !FILE_PARTS.has(part.type)
        )
          names.add(part.type);
  }
  if (names.size === 0) return;
  throw new AppException(
    'unsupported_input',
    `This server does not take ${[...names].join(', ')} on /v1/responses yet; send input_text, input_image and input_file parts and function tools`,
  );
}

/** The Responses API's flat function tools as a turn takes them (OpenAI's nested shape). */
export function toTurnTools(tools: CreateResponseDto['tools']): TurnInput['tools'] {
  if (!tools) return undefined;
  return tools.map((tool, index) => {
    const { name, description, parameters, strict } = tool;
    if (typeof name !== 'string' || !TOOL_NAME.test(name))
      throw invalid(
        `tools.${index}.name`,
        'a function tool needs a name of 1–64 of A–Z a–z 0–9 _ -',
      );
    if (description != null && typeof description !== 'string')
      throw invalid(`tools.${index}.description`, 'description must be a string');
    if (parameters != null && (typeof parameters !== 'object' || Array.isArray(parameters)))
      throw invalid(`tools.${index}.parameters`, 'parameters must be a JSON Schema object');
    return {
      type: 'function' as const,
      function: {
        name,
        ...(typeof description === 'string' && { description }),
        ...(parameters != null && { parameters: parameters as Record<string, unknown> }),
        ...(typeof strict === 'boolean' && { strict }),
      },
    };
  });
}

/** `auto|none|required|{ type: 'function', name }` as a turn's tool choice. */
export function toTurnToolChoice(
  choice: CreateResponseDto['tool_choice'],
): TurnInput['toolChoice'] {
  if (choice === undefined || choice === null) return undefined;
  if (typeof choice === 'string') return choice as 'auto' | 'none' | 'required';
  const name = (choice as { name?: unknown }).name;
  if (typeof name !== 'string' || !TOOL_NAME.test(name))
    throw invalid('tool_choice.name', 'a function tool_choice needs the name of an offered tool');
  return { type: 'function', function: { name } };
}

function invalid(field: string, problem: string): ValidationFailedException {
  return new ValidationFailedException([{ field, errors: [problem] }]);
}

/** A function_call_output's text: its string, or its text parts joined with a newline. */
function textOf(content: unknown, field: string): string {
  const { text, files } = contentOf(content, field);
  if (files.length > 0)
    throw new AppException(
      'unsupported_input',
      `${field}: a function_call_output takes text only; input_image and input_file parts ride on a user message`,
    );
  return text;
}

/** A message's text (its text parts joined with a newline, as /v1 does) and its file parts. */
function contentOf(content: unknown, field: string): { text: string; files: InputFile[] } {
  if (typeof content === 'string') return { text: content, files: [] };
  if (!Array.isArray(content))
    throw invalid(field, `${field} must be a string or an array of parts`);
  const texts: string[] = [];
  const files: InputFile[] = [];
  content.forEach((part: Record<string, unknown>, index) => {
    const at = `${field}.${index}`;
    if (typeof part?.type === 'string' && FILE_PARTS.has(part.type)) {
      files.push(fileOf(part, at));
      return;
    }
    if (typeof part?.text !== 'string')
      throw invalid(`${at}.text`, 'a text part must have a string text');
    texts.push(part.text);
  });
  return { text: texts.join('\n'), files };
}

/** An `input_image` (file_id or a data URL) or `input_file` (file_id or file_data) part. */
function fileOf(part: Record<string, unknown>, field: string): InputFile {
  const image = part.type === 'input_image';
  if (typeof part.file_id === 'string' && part.file_id !== '')
    return { kind: 'id', fileId: part.file_id };
  const url = image ? part.image_url : part.file_data;
  const urlField = `${field}.${image ? 'image_url' : 'file_data'}`;
  if (image && typeof url === 'string' && /^https?:/i.test(url))
    throw new AppException(
      'unsupported_input',
      `${urlField}: this server never fetches remote URLs; upload the image (POST /v1/files) and send its file_id, or send it inline as a base64 data URL`,
    );
  if (!image && typeof part.file_url === 'string')
    throw new AppException(
      'unsupported_input',
      `${field}.file_url: this server never fetches remote URLs; upload the file (POST /v1/files) and send its file_id, or send it inline as file_data (a base64 data URL)`,
    );
  if (typeof url !== 'string')
    throw invalid(
      field,
      image
        ? 'an input_image part needs a file_id or an image_url (a base64 data URL)'
        : 'an input_file part needs a file_id, or file_data (a base64 data URL) with a filename',
    );
  const inline = parseDataUrl(url);
  if (!inline)
    throw invalid(urlField, 'must be a base64 data URL: data:<media type>;base64,<bytes>');
  const { mimeType, data } = inline;
  if (image && !mimeType.startsWith('image/'))
    throw invalid(urlField, `an input_image data URL must hold an image, not ${mimeType}`);
  const filename = inlineFilename(part.filename, mimeType, image ? 'image' : 'file');
  return { kind: 'data', mimeType, data, filename };
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
      if (item.id.toLowerCase().startsWith('fc_')) entries.push({ kind: 'call', itemId: item.id });
      else entries.push({ kind: 'reference', id: item.id });
      return;
    }
    if (item.type === 'function_call') {
      if (typeof item.call_id !== 'string')
        throw invalid(`${field}.call_id`, 'a function_call needs a call_id');
      const itemId = typeof item.id === 'string' ? item.id : undefined;
      entries.push({ kind: 'call', callId: item.call_id, ...(itemId && { itemId }) });
      return;
    }
    if (item.type === 'function_call_output') {
      if (typeof item.call_id !== 'string')
        throw invalid(`${field}.call_id`, 'a function_call_output needs the call_id it answers');
      const output = textOf(item.output, `${field}.output`);
      entries.push({ kind: 'output', callId: item.call_id, output });
      return;
    }
    if (typeof item.type === 'string' && SKIPPED_ITEMS.has(item.type)) return;
    const role = typeof item.role === 'string' ? ROLES[item.role] : undefined;
    if (!role) throw invalid(`${field}.role`, 'role must be user, assistant, system or developer');
    const { text, files } = contentOf(item.content, `${field}.content`);
    entries.push({ kind: 'message', message: { role, text, ...(files.length > 0 && { files }) } });
  });
  return entries;
}

/** The input split the way a turn takes it: system text, messages stored first, the new message. */
export interface TurnParts {
  system: string[];
  earlier: InputMessage[];
  message: string;
  files: InputFile[];
}

export function splitForTurn(messages: InputMessage[]): TurnParts {
  const last = messages.at(-1);
  if (!last || last.role !== 'user') {
    throw new AppException(
      'unsupported_input',
      'The last input item must be a user message: it is the message this response answers',
    );
  }
  if (messages.slice(0, -1).some((m) => m.files?.length))
    throw new AppException(
      'unsupported_input',
      'input_image and input_file parts ride on the last input item, the user message this response answers; earlier items take text only',
    );
  const files = last.files ?? [];
  if (files.length > MAX_ATTACHMENTS)
    throw invalid(
      'input',
      `the user message carries ${files.length} input_image and input_file parts; at most ${MAX_ATTACHMENTS}`,
    );
  if (files.length > 0 && last.text.trim() === '')
    throw invalid(
      'input',
      'the user message needs an input_text part beside its input_image and input_file parts: say what to do with them',
    );
  return {
    system: messages.filter((m) => m.role === 'system').map((m) => m.text),
    earlier: messages.slice(0, -1).filter((m) => m.role !== 'system'),
    message: last.text,
    files,
  };
}

/** The function_call_output items ending the input, with the calls sent back before them. */
export interface ToolOutputs {
  calls: CallEntry[];
  outputs: OutputEntry[];
}

/**
 * The calls and outputs of an input that answers a response's function calls: they end the
 * input (what comes before is history the reply already holds). Null when there are none.
 */
export function splitToolOutputs(entries: InputEntry[]): ToolOutputs | null {
  const first = entries.findIndex((e) => e.kind === 'call' || e.kind === 'output');
  if (first === -1) return null;
  const tail = entries.slice(first);
  const outputs = tail.filter((e): e is OutputEntry => e.kind === 'output');
  if (outputs.length === 0 || tail.some((e) => e.kind !== 'call' && e.kind !== 'output'))
    throw new AppException(
      'unsupported_input',
      "function_call and function_call_output items must end the input: send the outputs of the last response's calls (with previous_response_id), after any message items",
    );
  return { calls: tail.filter((e): e is CallEntry => e.kind === 'call'), outputs };
}
