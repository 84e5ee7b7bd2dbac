import type { ConversationResponseDto } from '../dto/conversation-response.dto';
import {
  ACCOUNT_WRITERS,
  accountExportFileName,
  EXPORT_WRITERS,
  exportFileName,
  ExportFormat,
} from './export-format';

const conversation = {
  id: '01936f3e-8a4c-7b1e-9d2a-3c4b5d6e7f80',
  title: 'Día en Lisboa: "tram 28"!',
  topics: ['travel'],
  systemPrompt: null,
  model: null,
  createdAt: '2026-11-21T10:00:00.000Z',
} as unknown as ConversationResponseDto;

describe(exportFileName.name, () => {
  it('should name the file after the title in ASCII, with the id', () => {
    expect(exportFileName(conversation, 'md')).toBe(`dia-en-lisboa-tram-28-${conversation.id}.md`);
    expect(exportFileName({ ...conversation, title: null }, 'json')).toBe(
      `conversation-${conversation.id}.json`,
    );
  });
});

describe('json export writer', () => {
  it('should write one JSON document across batches', () => {
    const json = EXPORT_WRITERS.json;
    const message = (seq: number) => ({ seq }) as never;
    const text =
      json.head(conversation) +
      json.messages([message(0), message(1)], true) +
      json.messages([message(2)], false) +
      json.endMessages() +
      json.tail();
    const document = JSON.parse(text);
    expect(document.conversation.id).toBe(conversation.id);
    expect(document.messages).toEqual([{ seq: 0 }, { seq: 1 }, { seq: 2 }]);
    expect(JSON.parse(json.head(conversation) + json.endMessages() + json.tail()).messages).toEqual(
      [],
    );
  });
});

describe('account export writers', () => {
  const at = '2026-12-07T19:00:00.000Z';
  /** The account document with these conversations' messages (seq numbers), as the service writes it. */
  function account(format: ExportFormat, conversations: number[][], files = ''): string {
    const writer = EXPORT_WRITERS[format];
    const outer = ACCOUNT_WRITERS[format];
    let text = outer.head(at);
    conversations.forEach((seqs, i) => {
      const c = { ...conversation, id: `c${i}`, title: `T${i}` };
      text += outer.startConversation(i === 0) + writer.head(c);
      seqs.forEach((seq, j) => {
        const message = { seq, role: 'user', content: `m${seq}`, status: 'complete' } as never;
        text += writer.messages([message], j === 0);
      });
      text += writer.endMessages() + outer.endConversation();
    });
    return text + outer.endConversations() + files + outer.tail();
  }

  it('should write one JSON document of each conversation as its own export has it', () => {
    expect(JSON.parse(account('json', []))).toEqual({ exportedAt: at, conversations: [] });
    const document = JSON.parse(account('json', [[0, 1], [], [2]], ',"files":[]'));
    expect(
      document.conversations.map((c: { conversation: { id: string } }) => c.conversation.id),
    ).toEqual(['c0', 'c1', 'c2']);
    expect(
      document.conversations.map((c: { messages: { seq: number }[] }) =>
        c.messages.map((m) => m.seq),
      ),
    ).toEqual([[0, 1], [], [2]]);
    expect(document.files).toEqual([]);
    const single = EXPORT_WRITERS.json;
    const own = single.head(conversation) + single.endMessages() + single.tail();
    const entry = JSON.parse(account('json', [[]])).conversations[0];
    expect(entry).toEqual({
      ...JSON.parse(own),
      conversation: { ...conversation, id: 'c0', title: 'T0' },
    });
  });

  it('should write markdown documents one after another under a dated head', () => {
    expect(account('markdown', [])).toBe(`# Chat export\n\n- exported: ${at}\n`);
    const text = account('markdown', [[0], [1]]);
    expect(text).toContain(`- exported: ${at}\n\n# T0\n`);
    expect(text).toContain('## User\n\nm0\n\n# T1\n');
    expect(text.endsWith('## User\n\nm1\n')).toBe(true);
  });

  it('should date the file name by the day of the export', () => {
    expect(accountExportFileName(at, 'json')).toBe('chat-export-2026-12-07.json');
    expect(accountExportFileName(at, 'md')).toBe('chat-export-2026-12-07.md');
  });
});
