/**
 * One part of an MCP tool result, as far as the text handed to the model needs it (the
 * SDK's CallToolResult content; other fields are ignored).
 */
export interface ContentPart {
  type: string;
  text?: string;
  data?: string;
  mimeType?: string;
  uri?: string;
  name?: string;
  resource?: { uri?: string; mimeType?: string; text?: string; blob?: string };
}

/** Bytes a base64 string decodes to. */
function base64Bytes(data: string): number {
  const padding = data.endsWith('==') ? 2 : data.endsWith('=') ? 1 : 0;
  return Math.max(0, Math.floor((data.length * 3) / 4) - padding);
}

function describePart(part: ContentPart): string {
  switch (part.type) {
    case 'text':
      return part.text ?? '';
    case 'image':
    case 'audio':
      return `[${part.type}: ${part.mimeType ?? 'unknown type'}, ${base64Bytes(part.data ?? '')} bytes]`;
    case 'resource_link':
      return `[resource link: ${part.uri ?? ''}${part.name ? ` (${part.name})` : ''}]`;
    case 'resource': {
      const r = part.resource ?? {};
      if (typeof r.text === 'string') return r.text;
      const size = r.blob === undefined ? '' : `, ${base64Bytes(r.blob)} bytes`;
      return `[resource: ${r.uri ?? ''}${r.mimeType ? `, ${r.mimeType}` : ''}${size}]`;
    }
    default:
      return `[${part.type} content]`;
  }
}

/**
 * The text the model gets from a tool result: text parts as they are, other parts
 * described (`[image: image/png, 1234 bytes]`), one per line; a result with no content but
 * structured content gets that as JSON. Nothing in it is evaluated.
 */
export function renderToolContent(
  content: ContentPart[] | undefined,
  structured?: unknown,
): string {
  if ((!content || content.length === 0) && structured !== undefined)
    return JSON.stringify(structured);
  return (content ?? []).map(describePart).join('\n');
}

/**
 * `text` cut to at most `maxBytes` bytes of UTF-8 (on a character boundary), saying so at
 * the end when it was cut; the note is within the limit.
 */
export function capOutput(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  const note = (shown: number): string =>
    `\n[output cut: the first ${shown} of ${bytes.length} bytes shown]`;
  let end = Math.max(0, maxBytes - Buffer.byteLength(note(maxBytes)));
  // Back off to the start of a character: continuation bytes are 10xxxxxx.
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8') + note(end);
}
