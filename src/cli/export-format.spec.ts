import type { Conversation, Message } from './api-types';
import { toMarkdown } from './export-format';

const conversation: Conversation = {
  id: 'c1',
  title: null,
  titleSource: null,
  topics: [],
  archived: false,
  pinned: false,
  systemPrompt: 'Be brief.',
  model: null,
  params: {},
  tools: [],
  serverTools: [],
  createdAt: '2026-11-21T10:00:00.000Z',
  updatedAt: '2026-11-21T10:00:00.000Z',
  lastMessageAt: '2026-11-21T10:00:00.000Z',
  currentLeafId: null,
};

function message(fields: Partial<Message>): Message {
  return {
    id: 'm',
    conversationId: 'c1',
    parentId: null,
    seq: 0,
    role: 'user',
    content: '',
    name: null,
    metadata: null,
    toolCalls: null,
    toolCallId: null,
    attachments: [],
    reasoning: null,
    status: 'complete',
    model: null,
    upstreamModel: null,
    usage: null,
    latencyMs: null,
    ttftMs: null,
    finishReason: null,
    error: null,
    context: null,
    createdAt: '2026-11-21T10:00:00.000Z',
    completedAt: null,
    feedback: null,
    ...fields,
  };
}

describe(toMarkdown.name, () => {
  it('should write a heading per message, the system prompt, and how an unfinished reply ended', () => {
    const markdown = toMarkdown(conversation, [
      message({ content: 'Hello?' }),
      message({
        role: 'assistant',
        model: 'lmstudio/default',
        content: 'Hel',
        status: 'cancelled',
        error: { code: 'turn_cancelled', message: null },
      }),
    ]);
    expect(markdown).toBe(
      [
        '# Conversation c1',
        '',
        '- id: c1',
        '- model: the server default',
        '- created: 2026-11-21T10:00:00.000Z',
        '',
        '## System prompt',
        '',
        'Be brief.',
        '',
        '## User',
        '',
        'Hello?',
        '',
        '## Assistant (lmstudio/default)',
        '',
        'Hel',
        '',
        '_cancelled: turn_cancelled_',
        '',
      ].join('\n'),
    );
  });

  it('should list the files a message carries', () => {
    const attachments = [
      { id: 'f1', filename: 'chart.png', mimeType: 'image/png', bytes: 68, kind: 'image' as const },
    ];
    const markdown = toMarkdown(conversation, [message({ content: 'Look', attachments })]);
    expect(markdown).toContain('Look\n\n- attached: chart.png (image/png, 68 bytes, id f1)\n');
  });
});
