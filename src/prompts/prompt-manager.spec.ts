import type { ChatMessage } from '../llm/llm.types';
import { countTokens } from 'gpt-tokenizer/encoding/cl100k_base';

import {
  DEFAULT_SYSTEM_PROMPT,
  HistoryMessage,
  MESSAGE_OVERHEAD_TOKENS,
  MessageTooLongException,
  PromptLimits,
  PromptManager,
  SUMMARY_LABEL,
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
const limits: PromptLimits = {
  contextWindow: 100,
  replyTokens: 20,
  systemPrompt: 'sys',
  newMessageTokens: 6,
};
const SYS_TOKENS = countTokensConservatively('sys');

describe(PromptManager.name, () => {
  const manager = new PromptManager();
  const plan = (overrides: Partial<PromptLimits> = {}) => manager.plan({ ...limits, ...overrides });

  describe('plan', () => {
    it('should leave the context window minus reply, system prompt and new message for history', () => {
      const p = plan();
      expect(p.systemPromptTokens).toBe(SYS_TOKENS);
      expect(p.window.maxTokens).toBe(100 - 20 - 3 - (SYS_TOKENS + 4) - 10);
      expect(p.window.messageOverhead).toBe(MESSAGE_OVERHEAD_TOKENS);
      expect(p.window.maxRows).toBeGreaterThan(0);
    });

    it('should use the default system prompt when the conversation has none', () => {
      const p = plan({ systemPrompt: null });
      expect(p.systemPrompt).toBe(DEFAULT_SYSTEM_PROMPT);
      expect(p.systemPromptTokens).toBe(countTokensConservatively(DEFAULT_SYSTEM_PROMPT));
    });

    it('should leave less room for history when the reply budget grows', () => {
      expect(plan({ replyTokens: 40 }).window.maxTokens).toBe(
        plan({ replyTokens: 10 }).window.maxTokens - 30,
      );
    });

    it('should accept a new message that exactly fills the window', () => {
      const exact = 100 - 20 - 3 - (SYS_TOKENS + 4) - 4;
      expect(plan({ newMessageTokens: exact }).window.maxTokens).toBe(0);
    });

    it('should refuse a new message that does not fit on its own with message_too_long (422)', () => {
      const available = 100 - 20 - 3 - (SYS_TOKENS + 4);
      try {
        plan({ newMessageTokens: available - 3 });
        throw new Error('expected plan to throw');
      } catch (error) {
        expect(error).toBeInstanceOf(MessageTooLongException);
        const e = error as MessageTooLongException;
        expect(e.status).toBe(422);
        expect(e.code).toBe('message_too_long');
        expect(e.message).toContain(`${available + 1} tokens`);
        expect(e.message).toContain(`only ${available} fit`);
      }
    });

    it('should report zero available tokens when the reply budget alone exceeds the window', () => {
      expect(() => plan({ replyTokens: 200 })).toThrow(/only 0 fit/);
    });
  });

  const user = (content: string): ChatMessage[] => [{ role: 'user', content }];

  describe('build', () => {
    it('should put the system prompt first and the new message last', () => {
      const history = [message('hi', 2), message('hello!', 2, 'assistant')];
      const prompt = manager.build(
        plan({ systemPrompt: 'Be brief.' }),
        history,
        user('How are you?'),
      );
      expect(prompt.messages).toEqual([
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: 'hello!' },
        { role: 'user', content: 'How are you?' },
      ]);
      expect(prompt.historyCount).toBe(2);
    });

    it('should send the summary as a labelled system message after the system prompt, counted in its part', () => {
      const p = plan({ systemPrompt: 'Be brief.', summaries: true });
      const summary = { content: 'user: My name is Ada.', tokenCount: 7 };
      const prompt = manager.build(p, [message('hi', 2)], user('Who am I?'), summary);
      expect(prompt.messages[1]).toEqual({
        role: 'system',
        content: `${SUMMARY_LABEL}\nuser: My name is Ada.`,
      });
      expect(prompt.parts.summary).toBe(7 + p.window.summaryOverhead);
      const { system, summary: part, history, userMessage } = prompt.parts;
      expect(prompt.promptTokens).toBe(3 + system + part + history + userMessage);
      // What the window takes off its budget for the summary is what the prompt spends on it.
      expect(p.window.summaries).toBe(true);
      expect(p.window.summaryOverhead).toBe(
        countTokensConservatively(`${SUMMARY_LABEL}\n`) + MESSAGE_OVERHEAD_TOKENS,
      );
    });

    it('should say where the system prompt came from', () => {
      expect(plan({ systemPrompt: null }).systemPromptSource).toBe('default');
      expect(plan({ systemPrompt: 'Be brief.' }).systemPromptSource).toBe('conversation');
    });

    it('should build a prompt with an empty history', () => {
      const prompt = manager.build(plan({ systemPrompt: null }), [], user('First message'));
      expect(prompt.messages).toEqual([
        { role: 'system', content: DEFAULT_SYSTEM_PROMPT },
        { role: 'user', content: 'First message' },
      ]);
      expect(prompt.historyCount).toBe(0);
      // priming 3 + system + 4 + new message 6 + 4
      expect(prompt.promptTokens).toBe(
        3 + countTokensConservatively(DEFAULT_SYSTEM_PROMPT) + 4 + 10,
      );
    });

    it('should count each history message at its stored count plus the overhead', () => {
      const p = plan();
      const history = [
        message('a', 6),
        message('b', 6, 'assistant'),
        message('c', 6),
        message('d', 23, 'assistant'),
      ];
      const prompt = manager.build(p, history, user('new'));
      expect(prompt.promptTokens - (3 + SYS_TOKENS + 4 + 10)).toBe(6 + 6 + 6 + 23 + 4 * 4);
    });
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
