import { toContextBrief, toContextManifest } from './context-manifest';

describe(toContextBrief.name, () => {
  it('should shorten a stored manifest to what replies carry', () => {
    const stored = {
      promptTokens: 200,
      summary: { summarizedMessages: 6 },
      history: { messages: 3, omitted: 2 },
    };
    expect(toContextBrief(stored)).toEqual({
      messages: 4,
      omitted: 2,
      summarized: 6,
      promptTokens: 200,
    });
    expect(toContextBrief({ ...stored, summary: null })?.summarized).toBe(0);
  });

  it('should read nothing from messages without a manifest', () => {
    expect(toContextBrief(null)).toBeNull();
    expect(toContextManifest('text')).toBeNull();
  });
});
