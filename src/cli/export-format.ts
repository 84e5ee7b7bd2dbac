import type { Conversation, Message } from './api-types';

const HEADINGS: Record<Message['role'], string> = {
  system: 'System',
  user: 'User',
  assistant: 'Assistant',
  tool: 'Tool result',
};

/** A conversation as a readable document: a heading per message, its text as written. */
export function toMarkdown(conversation: Conversation, messages: Message[]): string {
  const lines = [`# ${conversation.title ?? `Conversation ${conversation.id}`}`, ''];
  lines.push(`- id: ${conversation.id}`);
  lines.push(`- model: ${conversation.model ?? 'the server default'}`);
  lines.push(`- created: ${conversation.createdAt}`);
  if (conversation.systemPrompt) lines.push('', '## System prompt', '', conversation.systemPrompt);
  for (const message of messages) {
    const model = message.role === 'assistant' && message.model ? ` (${message.model})` : '';
    const who = message.name ? `**${message.name}**` : HEADINGS[message.role];
    lines.push('', `## ${who}${model}`, '', message.content);
    if (message.attachments?.length) lines.push('');
    for (const f of message.attachments ?? [])
      lines.push(`- attached: ${f.filename} (${f.mimeType}, ${f.bytes} bytes, id ${f.id})`);
    if (message.toolCallId) lines.push('', `_result of ${message.toolCallId}_`);
    for (const call of message.toolCalls ?? [])
      lines.push(`- called \`${call.name}\` (${call.id}): \`${call.arguments}\``);
    if (message.status !== 'complete') {
      const code = message.error ? `: ${message.error.code}` : '';
      lines.push('', `_${message.status}${code}_`);
    }
  }
  return `${lines.join('\n')}\n`;
}
