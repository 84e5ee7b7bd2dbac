import { countTokens } from 'gpt-tokenizer/encoding/cl100k_base';

import {
  DEFAULT_SYSTEM_PROMPT,
  HistoryMessage,
  MessageTooLongException,
  PromptBudget,
  PromptManager,
} from './prompt-manager';
import { countTokensConservatively } from './token-counter';

const message = (
  content: string,
  tokenCount: number,
  role: HistoryMessage['role'] = 'user',
): HistoryMessage => ({ role, content, tokenCount });

/**
 * contextWindow 100 − reply 20 − priming 3 − system (6 + 4) = 67 left for the new message
 * and history; a new message of 6 tokens costs 10, leaving 57 for history. Each message
 * costs its tokenCount plus 4.
 */
const budget: PromptBudget = {
  contextWindow: 100,
  replyTokens: 20,
  systemPromptTokens: 6,
  newMessageTokens: 6,
};

describe(PromptManager.name, () => {
  const manager = new PromptManager();

  it('should put the system prompt first and the new message last', () => {
    const history = [message('hi', 2), message('hello!', 2, 'assistant')];
    const prompt = manager.build('Be brief.', history, 'How are you?', budget);
    expect(prompt.messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: 'hello!' },
      { role: 'user', content: 'How are you?' },
    ]);
    expect(prompt.historyCount).toBe(2);
  });

  it('should build a prompt with an empty history', () => {
    const prompt = manager.build(DEFAULT_SYSTEM_PROMPT, [], 'First message', budget);
    expect(prompt.messages).toEqual([
      { role: 'system', content: DEFAULT_SYSTEM_PROMPT },
      { role: 'user', content: 'First message' },
    ]);
    expect(prompt.historyCount).toBe(0);
    // priming 3 + system 10 + new message 10
    expect(prompt.promptTokens).toBe(23);
  });

  it('should keep the newest history that fits, returned oldest first', () => {
    // Seven messages costing 10 each; only the newest five fit in 57.
    const history = Array.from({ length: 7 }, (_, i) =>
      message(`m${i}`, 6, i % 2 === 0 ? 'user' : 'assistant'),
    );
    const prompt = manager.build('sys', history, 'new', budget);
    expect(prompt.historyCount).toBe(5);
    expect(prompt.messages.map((m) => m.content)).toEqual([
      'sys',
      'm2',
      'm3',
      'm4',
      'm5',
      'm6',
      'new',
    ]);
    expect(prompt.messages.slice(1, -1).map((m) => m.role)).toEqual([
      'user',
      'assistant',
      'user',
      'assistant',
      'user',
    ]);
  });

  it('should stop at the first message that does not fit instead of skipping to older ones', () => {
    const history = [
      message('old and small', 1),
      message('huge', 60, 'assistant'),
      message('recent', 6),
    ];
    const prompt = manager.build('sys', history, 'new', budget);
    expect(prompt.messages.map((m) => m.content)).toEqual(['sys', 'recent', 'new']);
    expect(prompt.historyCount).toBe(1);
  });

  it('should keep the whole history when it fits exactly', () => {
    // 57 = 10 + 10 + 10 + 27
    const history = [message('a', 6), message('b', 6), message('c', 6), message('d', 23)];
    const prompt = manager.build('sys', history, 'new', budget);
    expect(prompt.historyCount).toBe(4);
    expect(prompt.promptTokens + budget.replyTokens).toBe(budget.contextWindow);
  });

  it('should keep no history when even the newest message does not fit', () => {
    const prompt = manager.build('sys', [message('a', 1), message('b', 54)], 'new', budget);
    expect(prompt.historyCount).toBe(0);
    expect(prompt.messages.map((m) => m.content)).toEqual(['sys', 'new']);
  });

  it('should respect the reply budget whatever the history', () => {
    const sizes = [0, 1, 3, 7, 12, 25, 40, 2, 9, 30, 5, 0, 17];
    for (let start = 0; start < sizes.length; start++) {
      const history = sizes.slice(start).map((size, i) => message(`m${i}`, size));
      for (const replyTokens of [0, 10, 20, 40]) {
        const b: PromptBudget = { ...budget, replyTokens };
        const prompt = manager.build('sys', history, 'new', b);
        expect(prompt.promptTokens + replyTokens).toBeLessThanOrEqual(b.contextWindow);
        expect(prompt.messages).toHaveLength(prompt.historyCount + 2);
      }
    }
  });

  it('should leave less room for history when the reply budget grows', () => {
    const history = Array.from({ length: 10 }, (_, i) => message(`m${i}`, 6));
    const small = manager.build('sys', history, 'new', { ...budget, replyTokens: 10 });
    const large = manager.build('sys', history, 'new', { ...budget, replyTokens: 40 });
    expect(small.historyCount).toBe(6);
    expect(large.historyCount).toBe(3);
  });

  it('should accept a new message that exactly fills the window', () => {
    // needed = 63 + 4 = 67 = available
    const prompt = manager.build('sys', [message('a', 0)], 'new', {
      ...budget,
      newMessageTokens: 63,
    });
    expect(prompt.historyCount).toBe(0);
    expect(prompt.promptTokens + budget.replyTokens).toBe(budget.contextWindow);
  });

  it('should refuse a new message that does not fit on its own with message_too_long (422)', () => {
    const tooLong: PromptBudget = { ...budget, newMessageTokens: 64 };
    expect(() => manager.build('sys', [], 'new', tooLong)).toThrow(MessageTooLongException);
    try {
      manager.build('sys', [], 'new', tooLong);
      throw new Error('expected build to throw');
    } catch (error) {
      expect(error).toBeInstanceOf(MessageTooLongException);
      const e = error as MessageTooLongException;
      expect(e.status).toBe(422);
      expect(e.code).toBe('message_too_long');
      expect(e.message).toContain('68 tokens');
      expect(e.message).toContain('only 67 fit');
    }
  });

  it('should report zero available tokens when the reply budget alone exceeds the window', () => {
    expect(() => manager.build('sys', [], 'new', { ...budget, replyTokens: 200 })).toThrow(
      /only 0 fit/,
    );
  });
});

describe(countTokensConservatively.name, () => {
  it('should count 0 tokens for an empty string', () => {
    expect(countTokensConservatively('')).toBe(0);
  });

  it.each([
    'a',
    'Hello, world!',
    'The quick brown fox jumps over the lazy dog.',
    'Ünïcödé — 日本語のテキスト 🚀🚀',
    'function f(x) { return x * 2; }\n'.repeat(20),
  ])('should never count fewer tokens than the real tokenizer for %j', (text) => {
    expect(countTokensConservatively(text)).toBeGreaterThanOrEqual(countTokens(text));
    expect(countTokensConservatively(text)).toBeGreaterThan(0);
  });

  it('should grow with the text', () => {
    const short = countTokensConservatively('word '.repeat(10));
    const longer = countTokensConservatively('word '.repeat(100));
    const longest = countTokensConservatively('word '.repeat(1000));
    expect(longer).toBeGreaterThan(short);
    expect(longest).toBeGreaterThan(longer);
  });
});
