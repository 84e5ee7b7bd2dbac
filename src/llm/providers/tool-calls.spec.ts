import { LlmException } from '../llm.errors';
import { readToolCalls, TOOL_CALL_LIMITS, ToolCallAssembler } from './tool-calls';

function codeOf(work: () => unknown): string | undefined {
  try {
    work();
  } catch (error) {
    return error instanceof LlmException ? error.code : 'not an LlmException';
  }
  return undefined;
}

describe(readToolCalls.name, () => {
  it('should read whole calls, giving an id where the server sent none', () => {
    const calls = readToolCalls('Fake', [
      { id: 'a', type: 'function', function: { name: 'f', arguments: '{"x":1}' } },
      { type: 'function', function: { name: 'g', arguments: '' } },
    ]);
    expect(calls).toEqual([
      { id: 'a', name: 'f', arguments: '{"x":1}' },
      { id: expect.stringMatching(/^call_[0-9a-f]{24}$/), name: 'g', arguments: '{}' },
    ]);
    expect(readToolCalls('Fake', null)).toEqual([]);
  });

  it('should refuse too many calls, oversized arguments, bad names and other types', () => {
    const call = (name: string, args = '{}') => ({ id: 'c', function: { name, arguments: args } });
    const many = Array.from({ length: TOOL_CALL_LIMITS.maxCalls + 1 }, () => call('f'));
    const big = 'x'.repeat(TOOL_CALL_LIMITS.maxArgumentBytes / 2 + 1);
    expect(codeOf(() => readToolCalls('Fake', many))).toBe('provider_invalid_tool_calls');
    expect(codeOf(() => readToolCalls('Fake', [call('f', big), call('g', big)]))).toBe(
      'provider_invalid_tool_calls',
    );
    expect(codeOf(() => readToolCalls('Fake', [call('a.b')]))).toBe('provider_invalid_tool_calls');
    expect(codeOf(() => readToolCalls('Fake', [call('')]))).toBe('provider_invalid_tool_calls');
    expect(codeOf(() => readToolCalls('Fake', [{ type: 'custom', id: 'c' }]))).toBe(
      'provider_invalid_tool_calls',
    );
    const longId = { ...call('f'), id: 'i'.repeat(TOOL_CALL_LIMITS.maxIdLength + 1) };
    expect(codeOf(() => readToolCalls('Fake', [longId]))).toBe('provider_invalid_tool_calls');
    expect(codeOf(() => readToolCalls('Fake', [{ ...call('f'), id: 'a\u0000' }]))).toBe(
      'provider_invalid_tool_calls',
    );
    expect(codeOf(() => readToolCalls('Fake', many.slice(1)))).toBeUndefined();
  });
});

describe(ToolCallAssembler.name, () => {
  it('should join pieces per index and hand each on as a delta', () => {
    const calls = new ToolCallAssembler('Fake');
    expect(
      calls.push({ index: 0, id: 'a', type: 'function', function: { name: 'f', arguments: '' } }),
    ).toEqual({
      type: 'tool_call',
      index: 0,
      id: 'a',
      name: 'f',
      arguments: '',
    });
    calls.push({ index: 1, id: 'b', function: { name: 'g', arguments: '{"y"' } });
    expect(calls.push({ index: 0, function: { arguments: '{"x":1}' } })).toEqual({
      type: 'tool_call',
      index: 0,
      arguments: '{"x":1}',
    });
    calls.push({ index: 1, function: { arguments: ':2}' } });
    expect(calls.finish()).toEqual([
      { id: 'a', name: 'f', arguments: '{"x":1}' },
      { id: 'b', name: 'g', arguments: '{"y":2}' },
    ]);
  });

  it('should cut a stream at the piece that breaks a bound', () => {
    const calls = new ToolCallAssembler('Fake');
    expect(
      codeOf(() => calls.push({ index: TOOL_CALL_LIMITS.maxCalls, function: { name: 'f' } })),
    ).toBe('provider_invalid_tool_calls');
    expect(codeOf(() => calls.push({ index: 0, function: { name: 'no spaces' } }))).toBe(
      'provider_invalid_tool_calls',
    );
    const half = 'x'.repeat(TOOL_CALL_LIMITS.maxArgumentBytes / 2);
    calls.push({ index: 0, function: { name: 'f', arguments: half } });
    calls.push({ index: 0, function: { arguments: half } });
    expect(codeOf(() => calls.push({ index: 0, function: { arguments: 'x' } }))).toBe(
      'provider_invalid_tool_calls',
    );
    const nameless = new ToolCallAssembler('Fake');
    nameless.push({ index: 0, id: 'a', function: { arguments: '{}' } });
    expect(codeOf(() => nameless.finish())).toBe('provider_invalid_tool_calls');
  });
});
