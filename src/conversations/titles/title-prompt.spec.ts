import { parseTitleReply, TITLE_MAX_CHARS, titleMessages } from './title-prompt';

describe(parseTitleReply.name, () => {
  it('should read the two lines, without quotes, topics lowercase and distinct', () => {
    expect(
      parseTitleReply('Title: "Trip to Lisbon."\nTopics: Travel, #lisbon, travel, food'),
    ).toEqual({
      title: 'Trip to Lisbon',
      topics: ['travel', 'lisbon', 'food'],
    });
  });

  it('should take the first line as the title when the model ignores the format', () => {
    expect(parseTitleReply('**Planning a day in Porto**\n\nI hope that helps!')).toEqual({
      title: 'Planning a day in Porto',
      topics: [],
    });
  });

  it('should leave reasoning out and keep at most 5 topics', () => {
    const reply = '<think>Let me see</think>Title: Ferries\nTopics: a, b, c, d, e, f, g';
    expect(parseTitleReply(reply)).toEqual({ title: 'Ferries', topics: ['a', 'b', 'c', 'd', 'e'] });
  });

  it('should cut a long title at a word boundary within 60 characters, on one line', () => {
    const title = parseTitleReply(`Title: ${'word '.repeat(30)}`)?.title ?? '';
    expect(title.length).toBeLessThanOrEqual(TITLE_MAX_CHARS);
    expect(title).toMatch(/^(word )*word$/);
    expect(parseTitleReply('Title: one\ttwo   three')?.title).toBe('one two three');
  });

  it('should answer null when there is no title at all', () => {
    expect(parseTitleReply('')).toBeNull();
    expect(parseTitleReply('Title: ""')).toBeNull();
    expect(parseTitleReply('<think>hmm</think>')).toBeNull();
  });
});

describe(titleMessages.name, () => {
  it('should send the instruction and an excerpt of the exchange', () => {
    const [system, user] = titleMessages('x'.repeat(5000), 'The reply');
    expect(system.content).toMatch(/^You name conversations\./);
    expect(user.content).toContain('Assistant: The reply');
    expect(user.content.length).toBeLessThan(2200);
  });
});
