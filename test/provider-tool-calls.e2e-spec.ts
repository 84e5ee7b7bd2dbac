import type { ResolvedProvider } from '../src/llm/llm-setup';
import { LlmException } from '../src/llm/llm.errors';
import type { LlmChunk, LlmProvider, LlmRequest, ToolDefinition } from '../src/llm/llm.types';
import { GroqProvider } from '../src/llm/providers/groq.provider';
import { OpenAiCompatibleProvider } from '../src/llm/providers/openai-compatible.provider';
import { TOOL_CALL_LIMITS } from '../src/llm/providers/tool-calls';
import { FakeLlmServer } from './fake-llm/fake-llm-server';

const WEATHER: ToolDefinition = {
  name: 'get_weather',
  description: 'The weather in a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  strict: true,
};
const TIME: ToolDefinition = { name: 'get_time' };

/** Each adapter through its real SDK, over HTTP, against the fake. */
const ADAPTERS: [string, (fake: FakeLlmServer) => LlmProvider][] = [
  [
    'groq (groq-sdk)',
    (fake) =>
      new GroqProvider(
        {
          name: 'groq',
          type: 'groq',
          label: 'Groq',
          baseUrl: fake.url,
          apiKeyEnv: 'GROQ_API_KEY',
          apiKey: 'gsk_test',
          probe: false,
        } satisfies ResolvedProvider,
        5000,
        4 * 1024 * 1024,
      ),
  ],
  [
    'openai-compatible (openai)',
    (fake) =>
      new OpenAiCompatibleProvider(
        {
          name: 'lmstudio',
          type: 'openai-compatible',
          label: 'LM Studio',
          baseUrl: fake.openAiBaseUrl,
          probe: true,
        } satisfies ResolvedProvider,
        5000,
        4 * 1024 * 1024,
      ),
  ],
];

describe.each(ADAPTERS)('Tool calls through the %s adapter', (_, create) => {
  const fake = new FakeLlmServer();
  let provider: LlmProvider;

  beforeAll(async () => {
    await fake.start();
    provider = create(fake);
  });
  afterEach(() => fake.reset());
  afterAll(() => fake.stop());

  const request = (content: string, extra: Partial<LlmRequest> = {}): LlmRequest => ({
    model: 'fake-model',
    messages: [{ role: 'user', content }],
    params: {},
    signal: new AbortController().signal,
    ...extra,
  });

  async function streamed(req: LlmRequest): Promise<LlmChunk[]> {
    const chunks: LlmChunk[] = [];
    await provider.stream(req, (chunk) => chunks.push(chunk));
    return chunks;
  }

  async function failure(work: Promise<unknown>): Promise<LlmException> {
    const error = await work.then(
      () => undefined,
      (e: unknown) => e,
    );
    if (error instanceof LlmException) return error;
    throw new Error(`expected an LlmException, got ${String(error)}`);
  }

  it('should send tools in wire shape and read a whole reply’s calls', async () => {
    const result = await provider.complete(
      request('get_weather {"city":"Paris"}', {
        tools: [WEATHER, TIME],
        toolChoice: { name: 'get_weather' },
        parallelToolCalls: false,
      }),
    );

    expect(result).toMatchObject({
      content: '',
      finishReason: 'tool_calls',
      toolCalls: [{ id: expect.any(String), name: 'get_weather', arguments: '{"city":"Paris"}' }],
    });
    expect(fake.requests[0].body).toMatchObject({
      tools: [
        { type: 'function', function: WEATHER },
        { type: 'function', function: { name: 'get_time' } },
      ],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      parallel_tool_calls: false,
    });
  });

  it('should send earlier calls and their results in OpenAI’s message shape', async () => {
    const result = await provider.complete({
      ...request('x'),
      messages: [
        { role: 'user', content: 'get_time' },
        {
          role: 'assistant',
          content: '',
          toolCalls: [{ id: 'c1', name: 'get_time', arguments: '{}' }],
        },
        { role: 'tool', content: '09:30', toolCallId: 'c1' },
      ],
      tools: [TIME],
    });

    expect(result.content).toBe('Tool results: 09:30');
    expect(result.toolCalls).toBeUndefined();
    expect(fake.requests[0].body.messages.slice(1)).toEqual([
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'c1', type: 'function', function: { name: 'get_time', arguments: '{}' } },
        ],
      },
      { role: 'tool', content: '09:30', tool_call_id: 'c1' },
    ]);
  });

  it('should stream tool-call deltas as they come and assemble them in done', async () => {
    const chunks = await streamed(
      request('get_time, then get_weather {"city":"Oslo"}', { tools: [WEATHER, TIME] }),
    );

    const deltas = chunks.filter((c) => c.type === 'tool_call');
    expect(deltas.filter((d) => d.name)).toEqual([
      { type: 'tool_call', index: 0, id: expect.any(String), name: 'get_weather', arguments: '' },
      { type: 'tool_call', index: 1, id: expect.any(String), name: 'get_time', arguments: '' },
    ]);
    expect(deltas.length).toBeGreaterThan(4);
    const done = chunks.at(-1);
    expect(done).toMatchObject({
      type: 'done',
      finishReason: 'tool_calls',
      toolCalls: [
        {
          id: deltas[0].type === 'tool_call' && deltas[0].id,
          name: 'get_weather',
          arguments: '{"city":"Oslo"}',
        },
        { name: 'get_time', arguments: '{"city":"Oslo"}' },
      ],
    });
  });

  it('should send no tool_choice or parallel_tool_calls without tools', async () => {
    await provider.complete(
      request('hi', { tools: [], toolChoice: 'required', parallelToolCalls: true }),
    );
    const body = fake.requests[0].body;
    for (const field of ['tools', 'tool_choice', 'parallel_tool_calls'])
      expect(body).not.toHaveProperty(field);
  });

  it('should refuse calls past the bounds as provider_invalid_tool_calls, whole and streamed', async () => {
    const many = Array.from({ length: TOOL_CALL_LIMITS.maxCalls + 1 }, (_, i) => ({
      id: `c${i}`,
      name: 'get_time',
      arguments: '{}',
    }));
    const huge = [
      {
        id: 'c',
        name: 'get_time',
        arguments: `"${'x'.repeat(TOOL_CALL_LIMITS.maxArgumentBytes)}"`,
      },
    ];
    const badName = [{ id: 'c', name: 'get time; rm', arguments: '{}' }];
    for (const toolCalls of [many, huge, badName]) {
      fake.script(
        { kind: 'reply', content: '', toolCalls },
        { kind: 'reply', content: '', toolCalls },
      );
      const whole = await failure(provider.complete(request('hi', { tools: [TIME] })));
      const chunks: LlmChunk[] = [];
      const stream = await failure(
        provider.stream(request('hi', { tools: [TIME] }), (c) => chunks.push(c)),
      );
      for (const error of [whole, stream]) {
        expect(error.code).toBe('provider_invalid_tool_calls');
        expect(error.message).toMatch(/sent tool calls this service does not accept/);
      }
      expect(chunks.some((c) => c.type === 'done')).toBe(false);
    }
    // The largest that is allowed still passes.
    const most = many.slice(1);
    fake.script({ kind: 'reply', content: '', toolCalls: most });
    const done = (await streamed(request('hi', { tools: [TIME] }))).at(-1);
    expect(done?.type === 'done' && done.toolCalls).toHaveLength(TOOL_CALL_LIMITS.maxCalls);
  });

  it('should give a call without an id one of its own', async () => {
    fake.script({ kind: 'reply', content: '', toolCalls: [{ name: 'get_time', arguments: '' }] });
    const result = await provider.complete(request('hi', { tools: [TIME] }));
    expect(result.toolCalls).toEqual([
      { id: expect.stringMatching(/^call_/), name: 'get_time', arguments: '{}' },
    ]);
  });
});
