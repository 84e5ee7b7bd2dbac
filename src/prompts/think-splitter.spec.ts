import { SplitPiece, splitThinking, ThinkSplitter } from './think-splitter';

interface Streamed {
  content: string;
  reasoning: string;
  result: { content: string; reasoning: string | null };
}

/** Pushes `pieces` one by one, then ends, collecting what each call returned. */
function stream(pieces: string[]): Streamed {
  const splitter = new ThinkSplitter();
  const emitted: SplitPiece[] = pieces.map((piece) => splitter.feed(piece));
  emitted.push(splitter.end());
  return {
    content: emitted.map((p) => p.content).join(''),
    reasoning: emitted.map((p) => p.reasoning).join(''),
    result: splitter.result,
  };
}

describe(ThinkSplitter.name, () => {
  const reply = '<think>abc</think>  The answer.';
  const whole = splitThinking(reply);

  it('should separate a think block at the start from the answer', () => {
    expect(whole).toEqual({ content: 'The answer.', reasoning: 'abc' });
  });

  it('should leave a reply without a think block untouched and report no reasoning', () => {
    expect(splitThinking('Just an answer.')).toEqual({
      content: 'Just an answer.',
      reasoning: null,
    });
  });

  it('should send everything after an unterminated <think> to reasoning', () => {
    expect(splitThinking('<think>still thinking about it')).toEqual({
      content: '',
      reasoning: 'still thinking about it',
    });
    expect(stream(['<thi', 'nk>still ', 'thinking </thi'])).toEqual({
      content: '',
      reasoning: 'still thinking </thi',
      result: { content: '', reasoning: 'still thinking </thi' },
    });
  });

  it('should drop whitespace before the answer starts', () => {
    expect(splitThinking('  \n\t Hello there')).toEqual({
      content: 'Hello there',
      reasoning: null,
    });
    expect(splitThinking('\n<think>\n plan \n</think>\n\nHello')).toEqual({
      content: 'Hello',
      reasoning: 'plan',
    });
  });

  it('should keep whitespace inside the answer once it has started', () => {
    expect(stream(['Hello', '  ', 'world  '])).toMatchObject({
      content: 'Hello  world  ',
      result: { content: 'Hello  world  ', reasoning: null },
    });
  });

  it('should report an empty think block as no reasoning', () => {
    expect(splitThinking('<think> \n </think>Answer')).toEqual({
      content: 'Answer',
      reasoning: null,
    });
  });

  it.each(Array.from({ length: reply.length - 1 }, (_, i) => i + 1))(
    'should split identically when the reply is pushed in two pieces at index %i',
    (index) => {
      const streamed = stream([reply.slice(0, index), reply.slice(index)]);
      expect(streamed.content).toBe(streamed.result.content);
      expect(streamed.result).toEqual(whole);
      expect(streamed.reasoning).toBe('abc');
    },
  );

  it('should split identically when the reply is pushed one character at a time', () => {
    const streamed = stream([...reply]);
    expect(streamed.content).toBe(streamed.result.content);
    expect(streamed.result).toEqual(whole);
    expect(streamed.reasoning).toBe('abc');
  });

  it('should never emit a partial tag as content', () => {
    const splitter = new ThinkSplitter();
    const pieces = [...reply].map((char) => splitter.feed(char).content);
    pieces.push(splitter.end().content);
    expect(pieces.filter((p) => p.length > 0)).toEqual([...'The answer.']);
  });

  it('should preserve text containing "<" that is not a tag, once ended', () => {
    const text = 'a < b <t';
    expect(splitThinking(text)).toEqual({ content: text, reasoning: null });

    const splitter = new ThinkSplitter();
    const first = splitter.feed(text);
    // "<t" could still become "<think>", so it is held back until end().
    expect(first.content).toBe('a < b ');
    expect(splitter.end().content).toBe('<t');
    expect(splitter.result).toEqual({ content: text, reasoning: null });
  });

  it('should preserve "<" characters pushed one at a time', () => {
    const text = 'if x <= 3 && y < <thin 4 then <think';
    expect(stream([...text]).result).toEqual({ content: text, reasoning: null });
    expect(stream([...text]).content).toBe(text);
  });

  it('should accept a think block after some answer text', () => {
    expect(splitThinking('Intro <think>why</think> rest')).toEqual({
      content: 'Intro  rest',
      reasoning: 'why',
    });
  });
});

describe(splitThinking.name, () => {
  it('should give the same result as streaming the reply in pieces', () => {
    const reply = '<think>step 1\nstep 2</think>\n\nFinal: 42 < 43';
    const pieces = ['<th', 'ink>step 1\n', 'step 2</th', 'ink>\n', '\nFinal: 42 ', '< 43'];
    expect(stream(pieces).result).toEqual(splitThinking(reply));
    expect(splitThinking(reply)).toEqual({
      content: 'Final: 42 < 43',
      reasoning: 'step 1\nstep 2',
    });
  });

  it('should return empty content and no reasoning for an empty reply', () => {
    expect(splitThinking('')).toEqual({ content: '', reasoning: null });
  });
});
