import { ServerToolResult, ServerToolSet } from './tools.types';

describe(ServerToolSet.name, () => {
  const calls: string[] = [];
  const caller = {
    call: (name: string, args: string): Promise<ServerToolResult> => {
      calls.push(`${name} ${args}`);
      return Promise.resolve({ output: 'done', isError: false, durationMs: 1, outcome: 'ok' });
    },
  };
  const set = new ServerToolSet(
    [{ name: 'files__read', parameters: { type: 'object' } }],
    [{ server: 'web', status: 'unavailable', reason: 'fetch failed' }],
    ['files/write'],
    caller,
  );
  const signal = new AbortController().signal;

  it('should call its own tools and answer any other name with an error result', async () => {
    expect(set.has('files__read')).toBe(true);
    await expect(set.call('files__read', '{}', signal)).resolves.toMatchObject({ output: 'done' });
    await expect(set.call('web__fetch', '{}', signal)).resolves.toEqual({
      output: 'There is no tool named "web__fetch" here; use one of: files__read.',
      isError: true,
      durationMs: 0,
      outcome: 'unknown_tool',
    });
    expect(calls).toEqual(['files__read {}']);
  });

  it('should say what was left out, or nothing', () => {
    expect(set.describeLeftOut()).toBe(
      'Server tools left out: server web is unavailable (fetch failed); files/write is not listed by its server',
    );
    expect(new ServerToolSet([], [], [], caller).describeLeftOut()).toBeUndefined();
  });
});
