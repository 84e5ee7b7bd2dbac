import { AppException, ValidationFailedException } from '../common/errors/app.exception';
import { LlmException } from '../llm/llm.errors';
import type { ModelAlias } from '../llm/model-registry';
import type { ChatCompletionRequestDto } from './dto/chat-completion-request.dto';
import { toOpenAiError } from './openai-error';
import { cacheKeyMaterial, isDeterministic } from '../llm/response-cache';
import {
  ChunkMapper,
  CompletionReply,
  toChatCompletion,
  toCompletionInput,
  toolProblems,
} from './openai.mapper';

const alias: ModelAlias = {
  alias: 'lmstudio/default',
  provider: 'lmstudio',
  model: null,
  contextWindow: 8192,
  maxOutputTokens: 1024,
  params: { temperature: 0.7, topP: 0.9 },
  fallbacks: [],
};

const request = (extra: Partial<ChatCompletionRequestDto> = {}): ChatCompletionRequestDto => ({
  model: 'lmstudio/default',
  messages: [{ role: 'user', content: 'hi' }],
  ...extra,
});

const reply: CompletionReply = {
  content: 'Hello',
  reasoning: null,
  finishReason: 'stop',
  usage: { promptTokens: 3, completionTokens: 1, estimated: false },
};

describe(toCompletionInput.name, () => {
  it("should overlay the request's params on the alias's and treat nulls as unset", () => {
    const input = toCompletionInput(
      request({ temperature: 0, top_p: null as unknown as number, max_tokens: 5, stop: 'END' }),
      alias,
    );
    expect(input).toEqual({
      alias: 'lmstudio/default',
      messages: [{ role: 'user', content: 'hi' }],
      params: { temperature: 0, topP: 0.9, maxTokens: 5 },
      stop: ['END'],
    });
  });

  it('should prefer max_completion_tokens, map developer to system and pass json_object only', () => {
    const input = toCompletionInput(
      request({
        messages: [{ role: 'developer', content: [{ type: 'text', text: 'a' }] }],
        max_tokens: 9,
        max_completion_tokens: 4,
        response_format: { type: 'text' },
      }),
      alias,
    );
    expect(input.messages).toEqual([{ role: 'system', content: 'a' }]);
    expect(input.params.maxTokens).toBe(4);
    expect(input).not.toHaveProperty('responseFormat');
    expect(
      toCompletionInput(request({ response_format: { type: 'json_object' } }), alias)
        .responseFormat,
    ).toEqual({ type: 'json_object' });
  });
});

describe(isDeterministic.name, () => {
  it('should hold for temperature 0 or a seed, and only then', () => {
    expect(isDeterministic({ temperature: 0 })).toBe(true);
    expect(isDeterministic({ temperature: 1, seed: 0 })).toBe(true);
    expect(isDeterministic({ temperature: 0.1 })).toBe(false);
    expect(isDeterministic({})).toBe(false);
  });
});

describe(cacheKeyMaterial.name, () => {
  const input = toCompletionInput(request({ temperature: 0 }), alias);

  it('should differ by owner and by anything that shapes the reply', () => {
    const base = cacheKeyMaterial('alice', input);
    expect(cacheKeyMaterial('alice', { ...input })).toBe(base);
    expect(cacheKeyMaterial('bob', input)).not.toBe(base);
    expect(cacheKeyMaterial('alice', { ...input, stop: ['x'] })).not.toBe(base);
    expect(
      cacheKeyMaterial('alice', { ...input, responseFormat: { type: 'json_object' } }),
    ).not.toBe(base);
    expect(cacheKeyMaterial('alice', { ...input, params: { ...input.params, seed: 1 } })).not.toBe(
      base,
    );
  });

  it('should not depend on the order params were set in', () => {
    const a = { ...input, params: { temperature: 0, seed: 2 } };
    const b = { ...input, params: { seed: 2, temperature: 0 } };
    expect(cacheKeyMaterial('alice', a)).toBe(cacheKeyMaterial('alice', b));
  });
});

describe(toChatCompletion.name, () => {
  const meta = { id: 'chatcmpl-1', created: 1, model: 'lmstudio/default' };

  it('should add reasoning_content only when there is reasoning, and mark estimated usage', () => {
    expect(toChatCompletion(meta, reply).choices[0].message).not.toHaveProperty(
      'reasoning_content',
    );
    const thought = toChatCompletion(meta, {
      ...reply,
      reasoning: 'hmm',
      usage: { ...reply.usage, estimated: true },
    });
    expect(thought.choices[0].message.reasoning_content).toBe('hmm');
    expect(thought.usage).toEqual({
      prompt_tokens: 3,
      completion_tokens: 1,
      total_tokens: 4,
      estimated: true,
    });
  });
});

describe(ChunkMapper.name, () => {
  const meta = { id: 'chatcmpl-1', created: 1, model: 'm' };

  it('should end with a finish chunk, then a usage chunk with no choices when asked', () => {
    const chunks = new ChunkMapper(meta, true).of({ type: 'done', reply });
    expect(chunks.map((c) => [c.choices, c.usage])).toEqual([
      [[{ index: 0, delta: {}, finish_reason: 'stop', logprobs: null }], null],
      [[], { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 }],
    ]);
  });

  it('should leave usage out entirely when not asked', () => {
    const mapper = new ChunkMapper(meta, false);
    const [delta] = mapper.of({ type: 'delta', content: 'a', reasoning: 'b' });
    expect(delta).not.toHaveProperty('usage');
    expect(delta.choices[0].delta).toEqual({ content: 'a', reasoning_content: 'b' });
    expect(mapper.of({ type: 'done', reply })).toHaveLength(1);
  });
});

describe(toOpenAiError.name, () => {
  it("should give OpenAI's shape with the catalogue's status and our code", () => {
    const notFound = toOpenAiError(new AppException('model_not_found', 'No such model'), 'c');
    expect(notFound).toEqual({
      status: 404,
      headers: undefined,
      body: {
        error: {
          message: 'No such model',
          type: 'invalid_request_error',
          code: 'model_not_found',
          param: 'model',
        },
      },
    });
  });

  it('should name the first invalid field as param', () => {
    const error = new ValidationFailedException([{ field: 'messages.0.role', errors: ['bad'] }]);
    expect(toOpenAiError(error, 'c').body.error).toMatchObject({
      type: 'invalid_request_error',
      code: 'validation_failed',
      param: 'messages.0.role',
    });
  });

  it('should keep Retry-After and type provider failures by status', () => {
    const limited = toOpenAiError(
      new LlmException('provider_rate_limited', 'slow down', {
        retryable: true,
        retryAfterMs: 2000,
      }),
      'c',
    );
    expect(limited).toMatchObject({
      status: 429,
      headers: { 'Retry-After': '2' },
      body: { error: { type: 'rate_limit_error', code: 'provider_rate_limited' } },
    });
    const down = toOpenAiError(new LlmException('provider_unavailable', 'down'), 'c');
    expect(down.status).toBe(503);
    expect(down.body.error.type).toBe('server_error');
  });

  it('should answer anything unknown 500 internal_error without its details', () => {
    const rendered = toOpenAiError(new Error('db password leaked'), 'corr-7');
    expect(rendered.status).toBe(500);
    expect(rendered.body.error).toMatchObject({ type: 'server_error', code: 'internal_error' });
    expect(rendered.body.error.message).toContain('corr-7');
    expect(JSON.stringify(rendered)).not.toContain('password');
  });
});

describe('tools on /v1', () => {
  const call = { id: 'c1', type: 'function' as const, function: { name: 'f', arguments: '{}' } };
  const tools = [{ type: 'function' as const, function: { name: 'f', parameters: {} } }];

  it('should map tools, tool_choice, tool messages and json_schema to the provider contract', () => {
    const input = toCompletionInput(
      request({
        messages: [
          { role: 'user', content: 'go' },
          { role: 'assistant', content: null, tool_calls: [call] },
          { role: 'tool', tool_call_id: 'c1', content: [{ type: 'text', text: 'out' }] },
        ],
        tools,
        tool_choice: { type: 'function', function: { name: 'f' } },
        parallel_tool_calls: false,
        response_format: {
          type: 'json_schema',
          json_schema: { name: 's', schema: { type: 'object' }, strict: true },
        },
      }),
      alias,
    );
    expect(input).toMatchObject({
      messages: [
        { role: 'user', content: 'go' },
        { role: 'assistant', content: '', toolCalls: [{ id: 'c1', name: 'f', arguments: '{}' }] },
        { role: 'tool', content: 'out', toolCallId: 'c1' },
      ],
      tools: [{ name: 'f', parameters: {} }],
      toolChoice: { name: 'f' },
      parallelToolCalls: false,
      responseFormat: {
        type: 'json_schema',
        json_schema: { name: 's', schema: { type: 'object' }, strict: true },
      },
    });
    // Without tools, a choice is not sent.
    expect(toCompletionInput(request({ tool_choice: 'auto' }), alias)).not.toHaveProperty(
      'toolChoice',
    );
  });

  it('should find tool messages that answer nothing and calls left unanswered', () => {
    const ok = request({
      messages: [
        { role: 'user', content: 'go' },
        { role: 'assistant', content: null, tool_calls: [call] },
        { role: 'tool', tool_call_id: 'c1', content: 'out' },
        { role: 'user', content: 'more' },
      ],
      tools,
    });
    expect(toolProblems(ok)).toEqual([]);
    const orphan = request({ messages: [{ role: 'tool', tool_call_id: 'c1', content: 'x' }] });
    expect(toolProblems(orphan).map((p) => p.field)).toEqual(['messages.0.tool_call_id']);
    const twice = request({
      messages: [
        { role: 'assistant', content: null, tool_calls: [call] },
        { role: 'tool', tool_call_id: 'c1', content: 'x' },
        { role: 'tool', tool_call_id: 'c1', content: 'x' },
      ],
    });
    expect(toolProblems(twice).map((p) => p.field)).toEqual(['messages.2.tool_call_id']);
    const open = request({ messages: [{ role: 'assistant', content: null, tool_calls: [call] }] });
    expect(toolProblems(open).map((p) => p.field)).toEqual(['messages.0.tool_calls']);
  });

  it('should answer tool calls with null content and stream them as OpenAI pieces', () => {
    const meta = { id: 'chatcmpl-1', created: 1, model: 'a/b' };
    const toolCalls = [{ id: 'c1', name: 'f', arguments: '{"a":1}' }];
    const completion = toChatCompletion(meta, {
      ...reply,
      content: '',
      finishReason: 'tool_calls',
      toolCalls,
    });
    expect(completion.choices[0]).toMatchObject({
      finish_reason: 'tool_calls',
      message: {
        content: null,
        tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }],
      },
    });
    const chunks = new ChunkMapper(meta, false);
    const [first] = chunks.of({ type: 'tool_call', index: 0, id: 'c1', name: 'f', arguments: '' });
    const [next] = chunks.of({ type: 'tool_call', index: 0, arguments: '{"a"' });
    expect(first.choices[0].delta.tool_calls).toEqual([
      { index: 0, id: 'c1', type: 'function', function: { name: 'f', arguments: '' } },
    ]);
    expect(next.choices[0].delta.tool_calls).toEqual([
      { index: 0, function: { arguments: '{"a"' } },
    ]);
  });

  it('should key the cache on tools, the choice and tool messages', () => {
    const input = toCompletionInput(request({ temperature: 0 }), alias);
    const base = cacheKeyMaterial('alice', input);
    const withTools = { ...input, tools: [{ name: 'f' }] };
    expect(cacheKeyMaterial('alice', withTools)).not.toBe(base);
    expect(cacheKeyMaterial('alice', { ...withTools, toolChoice: 'required' })).not.toBe(
      cacheKeyMaterial('alice', withTools),
    );
    const answered = {
      ...input,
      messages: [{ role: 'tool' as const, content: 'x', toolCallId: 'c1' }],
    };
    expect(cacheKeyMaterial('alice', answered)).not.toBe(
      cacheKeyMaterial('alice', {
        ...answered,
        messages: [{ ...answered.messages[0], toolCallId: 'c2' }],
      }),
    );
  });
});
