import type { ConversationResponseDto } from '../dto/conversation-response.dto';
import type { MessageResponseDto } from '../../messages';

export const EXPORT_FORMATS = ['json', 'markdown'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

const HEADINGS: Record<MessageResponseDto['role'], string> = {
  system: 'System',
  user: 'User',
  assistant: 'Assistant',
  tool: 'Tool result',
};

/**
 * A document written piece by piece: the head, each batch of messages, the tail, so a long
 * conversation never sits whole in memory. The layouts are the CLI's (src/cli/export-format.ts):
 * `{ conversation, messages }` for json; a heading per message for markdown.
 */
export interface ExportWriter {
  contentType: string;
  extension: string;
  head(conversation: ConversationResponseDto): string;
  messages(batch: MessageResponseDto[], first: boolean): string;
  /** Ends the messages; what follows them (the json export's `files`) comes before the tail. */
  endMessages(): string;
  tail(): string;
}

const json: ExportWriter = {
  contentType: 'application/json; charset=utf-8',
  extension: 'json',
  head: (conversation) => `{"conversation":${JSON.stringify(conversation)},"messages":[`,
  messages: (batch, first) => (first ? '' : ',') + batch.map((m) => JSON.stringify(m)).join(','),
  endMessages: () => ']',
  tail: () => '}\n',
};

const markdown: ExportWriter = {
  contentType: 'text/markdown; charset=utf-8',
  extension: 'md',
  head: (conversation) => {
    const lines = [`# ${conversation.title ?? `Conversation ${conversation.id}`}`, ''];
    lines.push(`- id: ${conversation.id}`);
    lines.push(`- model: ${conversation.model ?? 'the server default'}`);
    lines.push(`- created: ${conversation.createdAt}`);
    if (conversation.topics.length > 0) lines.push(`- topics: ${conversation.topics.join(', ')}`);
    if (conversation.systemPrompt)
      lines.push('', '## System prompt', '', conversation.systemPrompt);
    return lines.join('\n');
  },
  messages: (batch) => batch.map(markdownMessage).join(''),
  endMessages: () => '',
  tail: () => '\n',
};

/** Markdown's emphasis and link characters escaped, so a speaker's name shows as written. */
const escapeMarkdown = (text: string): string => text.replace(/[\\`*_[\]<>#]/g, '\\$&');

/** A reply's tool calls, and which call a tool message answers. */
export function toolLines(message: Pick<MessageResponseDto, 'toolCalls' | 'toolCallId'>): string[] {
  if (message.toolCallId) return ['', `_result of ${message.toolCallId}_`];
  const calls = message.toolCalls ?? [];
  return calls.length === 0
    ? []
    : ['', ...calls.map((c) => `- called \`${c.name}\` (${c.id}): \`${c.arguments}\``)];
}

/** The files a message carries: name, type, size and id (the bytes: GET /api/v1/files/{id}/content). */
export function attachmentLines(message: Pick<MessageResponseDto, 'attachments'>): string[] {
  const files = message.attachments ?? [];
  return files.length === 0
    ? []
    : [
        '',
        ...files.map(
          (f) =>
            `- attached: ${escapeMarkdown(f.filename)} (${f.mimeType}, ${f.bytes} bytes, id ${f.id})`,
        ),
      ];
}

function markdownMessage(message: MessageResponseDto): string {
  const model = message.role === 'assistant' && message.model ? ` (${message.model})` : '';
  const who = message.name ? `**${escapeMarkdown(message.name)}**` : HEADINGS[message.role];
  const lines = ['', '', `## ${who}${model}`, ''];
  // Sorted by key: jsonb keeps its own order, not the order sent.
  const metadata = Object.entries(message.metadata ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));
  for (const [key, value] of metadata) lines.push(`- ${escapeMarkdown(key)}: ${value}`);
  if (metadata.length > 0) lines.push('');
  lines.push(message.content);
  lines.push(...attachmentLines(message));
  lines.push(...toolLines(message));
  if (message.status !== 'complete') {
    const code = message.error ? `: ${message.error.code}` : '';
    lines.push('', `_${message.status}${code}_`);
  }
  return lines.join('\n');
}

export const EXPORT_WRITERS: Record<ExportFormat, ExportWriter> = { json, markdown };

/**
 * The account export around the conversations' documents: each is written by its
 * ExportWriter up to endMessages, then endConversation closes it. json: one document,
 * `{ exportedAt, conversations: [ { conversation, messages }, … ] }`, then `files` (as the
 * conversation's has) before the tail; markdown: one document after another under a head.
 */
export interface AccountWriter {
  head(exportedAt: string): string;
  /** Before each conversation's document; `first` before the first. */
  startConversation(first: boolean): string;
  endConversation(): string;
  endConversations(): string;
  tail(): string;
}

export const ACCOUNT_WRITERS: Record<ExportFormat, AccountWriter> = {
  json: {
    head: (exportedAt) => `{"exportedAt":${JSON.stringify(exportedAt)},"conversations":[`,
    startConversation: (first) => (first ? '' : ','),
    endConversation: () => '}',
    endConversations: () => ']',
    tail: () => '}\n',
  },
  markdown: {
    head: (exportedAt) => `# Chat export\n\n- exported: ${exportedAt}\n`,
    // A blank line before each conversation's title.
    startConversation: () => '\n',
    endConversation: markdown.tail,
    endConversations: () => '',
    tail: () => '',
  },
};

/** The account export's file name, dated by the day it was made, e.g. `chat-export-2026-12-07.md`. */
export function accountExportFileName(exportedAt: string, extension: string): string {
  return `chat-export-${exportedAt.slice(0, 10)}.${extension}`;
}

/** An ASCII file name from the title, e.g. `trip-to-lisbon-0193….md`. */
export function exportFileName(conversation: ConversationResponseDto, extension: string): string {
  const slug = (conversation.title ?? '')
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .replace(/[^A-Za-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .toLowerCase()
    .slice(0, 40)
    .replace(/-+$/, '');
  return `${slug || 'conversation'}-${conversation.id}.${extension}`;
}
