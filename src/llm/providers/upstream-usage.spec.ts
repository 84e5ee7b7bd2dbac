import { MAX_TOKEN_COUNT, toUsage } from './upstream-usage';

describe('toUsage', () => {
  it('should keep counts as reported', () => {
    expect(toUsage({ prompt_tokens: 12, completion_tokens: 0, total_tokens: 12 })).toEqual({
      promptTokens: 12,
      completionTokens: 0,
    });
  });

  it('should clamp counts no integer column holds, and round fractions', () => {
    expect(toUsage({ prompt_tokens: 1e30, completion_tokens: 2 ** 31 })).toEqual({
      promptTokens: MAX_TOKEN_COUNT,
      completionTokens: MAX_TOKEN_COUNT,
    });
    expect(toUsage({ prompt_tokens: 1.5, completion_tokens: 0.2 })).toEqual({
      promptTokens: 2,
      completionTokens: 0,
    });
  });

  it.each([
    ['a negative count', { prompt_tokens: -1, completion_tokens: 3 }],
    ['-1.8e308', { prompt_tokens: -1.7976931348623133e308, completion_tokens: 3 }],
    ['a string', { prompt_tokens: '12', completion_tokens: 3 }],
    ['a missing count', { prompt_tokens: 12 }],
    ['null counts', { prompt_tokens: null, completion_tokens: null }],
    ['NaN', { prompt_tokens: NaN, completion_tokens: 3 }],
    ['a string for usage', 'usage'],
    ['a number for usage', 42],
    ['null', null],
  ])('should treat usage with %s as unknown', (_, usage) => {
    expect(toUsage(usage)).toBeNull();
  });
});
