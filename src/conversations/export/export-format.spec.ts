import type { ConversationResponseDto } from '../dto/conversation-response.dto';
import { EXPORT_WRITERS, exportFileName } from './export-format';

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
