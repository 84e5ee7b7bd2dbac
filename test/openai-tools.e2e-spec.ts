import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { createOpenAI } from '@ai-sdk/openai';
import { tool as langchainTool } from '@langchain/core/tools';
import { ToolMessage } from '@langchain/core/messages';
import { ChatOpenAI } from '@langchain/openai';
import { generateObject, generateText, stepCountIs, streamText, tool } from 'ai';
import OpenAI from 'openai';
import type {
  ChatCompletionChunk,
  ChatCompletionCreateParamsNonStreaming,
  ChatCompletionFunctionTool,
  ChatCompletionMessageParam,
} from 'openai/resources';
import { z } from 'zod';

import { apiError } from './utils/owners';
import { AppClient, withTestApp } from './utils/harness';

const ALIAS = 'lmstudio/default';
/** An alias whose definition says it calls no tools and honours no json_schema. */
const PLAIN = 'lmstudio/plain';

const WEATHER: ChatCompletionFunctionTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'The weather in a city',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string' } },
      required: ['city'],
      additionalProperties: false,
    },
    strict: true,
  },
};
const TIME: ChatCompletionFunctionTool = {
  type: 'function',
  function: { name: 'get_time', parameters: { type: 'object', properties: {} } },
};

function sdk(t: AppClient): OpenAI {
  return new OpenAI({ baseURL: `${t.url}/v1`, apiKey: 'not-needed', maxRetries: 0 });
}

async function collect(stream: AsyncIterable<ChatCompletionChunk>): Promise<ChatCompletionChunk[]> {
  const chunks: ChatCompletionChunk[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

const user = (content: string): ChatCompletionMessageParam => ({ role: 'user', content });

describe('OpenAI-compatible endpoint with tools', () => {
  const t = withTestApp({
    env: { LMSTUDIO_MODEL: 'fake-model', LLM_MAX_RETRIES: '0' },
    models: [
      {
        alias: PLAIN,
        provider: 'lmstudio',
        model: 'fake-model',
        contextWindow: 8192,
        tools: false,
        jsonSchema: false,
      },
      // Falls back to the plain alias, which is no fallback for a request with tools.
      {
        alias: 'lmstudio/tooled',
        provider: 'lmstudio',
        model: 'fake-model',
        contextWindow: 8192,
        fallbacks: [PLAIN],
      },
    ],
  });
  let client: OpenAI;
  beforeAll(() => (client = sdk(t)));

  describe('the openai package', () => {
    it('should answer a tool call whole, then the tool results, passing tools upstream', async () => {
      const first = await client.chat.completions.create({
        model: ALIAS,
        messages: [user('What is the weather? Call get_weather with {"city":"Paris"}')],
        tools: [WEATHER, TIME],
        tool_choice: 'auto',
        parallel_tool_calls: true,
      });

      const choice = first.choices[0];
      expect(choice.finish_reason).toBe('tool_calls');
      expect(choice.message.content).toBeNull();
      expect(choice.message.tool_calls).toEqual([
        {
          id: expect.stringMatching(/^call_/),
          type: 'function',
          function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
        },
      ]);
      expect(t.fake.requests[0].body).toMatchObject({
        tools: [WEATHER, TIME],
        tool_choice: 'auto',
        parallel_tool_calls: true,
      });

      const call = choice.message.tool_calls![0];
      const second = await client.chat.completions.create({
        model: ALIAS,
        messages: [
          user('What is the weather? Call get_weather with {"city":"Paris"}'),
          choice.message,
          { role: 'tool', tool_call_id: call.id, content: 'Sunny, 21 C' },
        ],
        tools: [WEATHER, TIME],
      });
      expect(second.choices[0]).toMatchObject({
        finish_reason: 'stop',
        message: { content: 'Tool results: Sunny, 21 C' },
      });
      expect(second.choices[0].message.tool_calls).toBeUndefined();
      expect(t.fake.requests[1].body.messages.slice(1)).toEqual([
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            {
              id: call.id,
              type: 'function',
              function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
            },
          ],
        },
        { role: 'tool', tool_call_id: call.id, content: 'Sunny, 21 C' },
      ]);
    });

    it('should stream tool calls as OpenAI delta pieces the SDK assembles', async () => {
      const chunks = await collect(
        await client.chat.completions.create({
          model: ALIAS,
          messages: [user('get_time and get_weather {"city":"Oslo"}')],
          tools: [WEATHER, TIME],
          stream: true,
          stream_options: { include_usage: true },
        }),
      );
      const pieces = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
      // The first piece of each call names it; the rest carry only arguments.
      expect(pieces.filter((p) => p.id)).toEqual([
        {
          index: 0,
          id: expect.any(String),
          type: 'function',
          function: { name: 'get_weather', arguments: '' },
        },
        {
          index: 1,
          id: expect.any(String),
          type: 'function',
          function: { name: 'get_time', arguments: '' },
        },
      ]);
      const args = (index: number): string =>
        pieces
          .filter((p) => p.index === index)
          .map((p) => p.function?.arguments ?? '')
          .join('');
      expect(args(0)).toBe('{"city":"Oslo"}');
      expect(args(1)).toBe('{"city":"Oslo"}');
      expect(pieces.length).toBeGreaterThan(4);
      expect(chunks.at(-2)?.choices[0].finish_reason).toBe('tool_calls');
      expect(chunks.at(-1)?.usage?.completion_tokens).toBeGreaterThan(0);

      // The SDK's own stream helper puts the pieces together into a whole message.
      const runner = client.chat.completions.stream({
        model: ALIAS,
        messages: [user('get_weather {"city":"Rome"}')],
        tools: [WEATHER],
      });
      const final = await runner.finalChatCompletion();
      expect(final.choices[0].message.tool_calls?.[0]).toMatchObject({
        type: 'function',
        function: { name: 'get_weather', arguments: '{"city":"Rome"}' },
      });
    });

    it('should run tools with runTools, whole and streamed', async () => {
      const ran: unknown[] = [];
      const tools = [
        {
          type: 'function' as const,
          function: {
            name: 'get_weather',
            description: 'The weather in a city',
            parameters: WEATHER.function.parameters!,
            parse: (text: string) => JSON.parse(text) as { city: string },
            function: ({ city }: { city: string }) => {
              ran.push(city);
              return `Rain in ${city}`;
            },
          },
        },
      ];
      const runner = client.chat.completions.runTools({
        model: ALIAS,
        messages: [user('Please get_weather {"city":"Lima"}')],
        tools,
      });
      expect(await runner.finalContent()).toBe('Tool results: Rain in Lima');
      const streamed = client.chat.completions.runTools({
        model: ALIAS,
        messages: [user('Please get_weather {"city":"Quito"}')],
        tools,
        stream: true,
      });
      expect(await streamed.finalContent()).toBe('Tool results: Rain in Quito');
      expect(ran).toEqual(['Lima', 'Quito']);
    });

    it('should pass tool_choice none, required and a named function', async () => {
      const none = await client.chat.completions.create({
        model: ALIAS,
        messages: [user('get_time')],
        tools: [TIME],
        tool_choice: 'none',
      });
      expect(none.choices[0].message).toMatchObject({ content: 'Echo: get_time [messages=1]' });
      const named = await client.chat.completions.create({
        model: ALIAS,
        messages: [user('hello')],
        tools: [TIME, WEATHER],
        tool_choice: { type: 'function', function: { name: 'get_weather' } },
        parallel_tool_calls: false,
      });
      expect(named.choices[0].message.tool_calls?.[0]).toMatchObject({
        function: { name: 'get_weather' },
      });
      expect(t.fake.requests.map((r) => r.toolChoice)).toEqual([
        'none',
        { type: 'function', function: { name: 'get_weather' } },
      ]);
      expect(t.fake.requests[1].body.parallel_tool_calls).toBe(false);
    });

    it('should pass response_format json_schema with strict, whole and streamed', async () => {
      const format = {
        type: 'json_schema' as const,
        json_schema: {
          name: 'city',
          strict: true,
          schema: WEATHER.function.parameters!,
        },
      };
      const whole = await client.chat.completions.create({
        model: ALIAS,
        messages: [user('Return {"city":"Kyiv"}')],
        response_format: format,
      });
      expect(JSON.parse(whole.choices[0].message.content!)).toEqual({ city: 'Kyiv' });
      const streamed = await collect(
        await client.chat.completions.create({
          model: ALIAS,
          messages: [user('a city')],
          response_format: format,
          stream: true,
        }),
      );
      const text = streamed.map((c) => c.choices[0]?.delta.content ?? '').join('');
      expect(JSON.parse(text)).toEqual({ city: 'text' });
      expect(t.fake.requests.map((r) => r.body.response_format)).toEqual([format, format]);
    });

    it('should refuse inconsistent tools and messages with 400 in OpenAI shape', async () => {
      const call = {
        id: 'call_1',
        type: 'function' as const,
        function: { name: 'get_time', arguments: '{}' },
      };
      const cases: [object, string, RegExp][] = [
        [
          {
            model: ALIAS,
            messages: [user('hi'), { role: 'tool', tool_call_id: 'call_1', content: 'x' }],
          },
          'messages.1.tool_call_id',
          /must follow an assistant message with tool_calls/,
        ],
        [
          {
            model: ALIAS,
            messages: [
              user('hi'),
              { role: 'assistant', content: null, tool_calls: [call] },
              user('and?'),
            ],
          },
          'messages.1.tool_calls',
          /call_1 have no tool message/,
        ],
        [
          {
            model: ALIAS,
            messages: [
              user('hi'),
              { role: 'assistant', content: null, tool_calls: [call] },
              { role: 'tool', tool_call_id: 'call_2', content: 'x' },
            ],
          },
          'messages.2.tool_call_id',
          /"call_2" answers no unanswered call/,
        ],
        [
          {
            model: ALIAS,
            messages: [user('hi')],
            tools: [TIME],
            tool_choice: { type: 'function', function: { name: 'nope' } },
          },
          'tool_choice',
          /"nope", which is not among tools \(get_time\)/,
        ],
        [
          { model: ALIAS, messages: [user('hi')], tool_choice: 'required' },
          'tool_choice',
          /needs tools/,
        ],
        [
          {
            model: ALIAS,
            messages: [user('hi')],
            tools: [{ type: 'function', function: { name: 'bad name' } }],
          },
          'tools.0.function.name',
          /1-64 of a-z A-Z 0-9/,
        ],
        [
          {
            model: ALIAS,
            messages: [user('hi')],
            tools: [{ type: 'function', function: { name: 'x', parameters: 'y' } }],
          },
          'tools.0.function.parameters',
          /object/,
        ],
        [
          { model: ALIAS, messages: [user('hi')], tools: [TIME, TIME] },
          'tools.1.function.name',
          /defined twice/,
        ],
        [
          { model: ALIAS, messages: [user('hi')], tools: [TIME], tool_choice: 'sometimes' },
          'tool_choice',
          /"auto", "none", "required"/,
        ],
        [
          { model: ALIAS, messages: [{ role: 'user', content: 'hi', tool_call_id: 'call_1' }] },
          'messages.0.tool_call_id',
          /only a tool message/,
        ],
      ];
      for (const [body, param, message] of cases) {
        const error = await apiError(
          client.chat.completions.create(body as ChatCompletionCreateParamsNonStreaming),
        );
        expect(error).toBeInstanceOf(OpenAI.BadRequestError);
        expect(error).toMatchObject({
          status: 400,
          code: 'validation_failed',
          type: 'invalid_request_error',
          param,
        });
        expect(error.message).toMatch(message);
      }
      expect(t.fake.requests).toHaveLength(0);
    });

    it('should refuse tools and json_schema for an alias that cannot serve them, naming it', async () => {
      const tools = await apiError(
        client.chat.completions.create({ model: PLAIN, messages: [user('hi')], tools: [TIME] }),
      );
      expect(tools).toMatchObject({ status: 400, code: 'tools_not_supported', param: 'tools' });
      expect(tools.message).toContain(`"${PLAIN}" does not support calling tools`);
      expect(tools.message).toContain(ALIAS);
      const schema = await apiError(
        client.chat.completions.create({
          model: PLAIN,
          messages: [user('hi')],
          response_format: {
            type: 'json_schema',
            json_schema: { name: 'x', schema: { type: 'object' } },
          },
        }),
      );
      expect(schema).toMatchObject({
        status: 400,
        code: 'response_format_not_supported',
        param: 'response_format',
      });
      expect(schema.message).toContain(PLAIN);
      expect(t.fake.requests).toHaveLength(0);
      // What it can do still works: text, and JSON mode.
      const json = await client.chat.completions.create({
        model: PLAIN,
        messages: [user('hi')],
        response_format: { type: 'json_object' },
      });
      expect(JSON.parse(json.choices[0].message.content!)).toEqual({
        reply: 'Echo: hi [messages=1]',
      });
    });

    it('should show each alias’s capabilities in GET /api/v1/models', async () => {
      const res = await t.http.get('/api/v1/models').expect(200);
      const models = res.body.data as { alias: string; capabilities: unknown }[];
      const of = (alias: string) => models.find((m) => m.alias === alias)?.capabilities;
      expect(of(PLAIN)).toEqual({ tools: false, jsonSchema: false, vision: null });
      expect(of(ALIAS)).toEqual({ tools: true, jsonSchema: true, vision: null });
      expect(of('groq/llama-3.3-70b')).toEqual({ tools: true, jsonSchema: false, vision: null });
      expect(of('groq/gpt-oss-120b')).toEqual({ tools: true, jsonSchema: true, vision: null });
    });

    it('should skip a fallback that cannot call tools, and use it for text', async () => {
      t.fake.script({ kind: 'error', status: 503 }, { kind: 'error', status: 503 });
      const error = await apiError(
        client.chat.completions.create({
          model: 'lmstudio/tooled',
          messages: [user('get_time')],
          tools: [TIME],
        }),
      );
      expect(error).toMatchObject({ status: 503, code: 'provider_unavailable' });
      expect(t.fake.requests).toHaveLength(1);
      const text = await client.chat.completions.create({
        model: 'lmstudio/tooled',
        messages: [user('hi')],
      });
      expect(text.choices[0].message.content).toBe('Echo: hi [messages=1]');
      expect(t.fake.requests).toHaveLength(3);
    });

    it('should record tool calls in the run telemetry, arguments only with LOG_MESSAGES', async () => {
      const runsDir = mkdtempSync(path.join(os.tmpdir(), 'runs-tools-'));
      const app = await t.startApp({ env: { RUNS_DIR: runsDir } });
      await sdk(app).chat.completions.create({
        model: ALIAS,
        messages: [user('get_weather {"city":"Bonn"}')],
        tools: [WEATHER, TIME],
      });
      await app.close();
      const [run] = readdirSync(runsDir);
      const [line] = readFileSync(path.join(runsDir, run, 'interactions.jsonl'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(line).toMatchObject({
        alias: ALIAS,
        finishReason: 'tool_calls',
        toolsOffered: 2,
        toolCalls: [{ id: expect.any(String), name: 'get_weather' }],
        ttftMs: expect.any(Number),
      });
      expect(JSON.stringify(line)).not.toContain('Bonn');
    });

    it('should drop what cannot be stored from tool-call arguments, whole and streamed', async () => {
      const toolCalls = [{ id: 'c1', name: 'get_time', arguments: '{"a":"x\u0000y\ud800"}' }];
      t.fake.script(
        { kind: 'reply', content: '', toolCalls },
        { kind: 'reply', content: '', toolCalls },
      );
      const whole = await client.chat.completions.create({
        model: ALIAS,
        messages: [user('hi')],
        tools: [TIME],
      });
      expect(whole.choices[0].message.tool_calls?.[0]).toMatchObject({
        function: { arguments: '{"a":"xy"}' },
      });
      const chunks = await collect(
        await client.chat.completions.create({
          model: ALIAS,
          messages: [user('hi')],
          tools: [TIME],
          stream: true,
        }),
      );
      const args = chunks
        .flatMap((c) => c.choices[0]?.delta.tool_calls ?? [])
        .map((p) => p.function?.arguments ?? '')
        .join('');
      expect(args).toBe('{"a":"xy"}');
    });

    it('should fail a provider tool call past the bounds as provider_invalid_tool_calls', async () => {
      t.fake.script({
        kind: 'reply',
        content: '',
        toolCalls: [{ id: 'c', name: 'rm -rf', arguments: '{}' }],
      });
      const error = await apiError(
        client.chat.completions.create({ model: ALIAS, messages: [user('hi')], tools: [TIME] }),
      );
      expect(error).toMatchObject({ status: 502, code: 'provider_invalid_tool_calls' });
      expect(error.message).toContain('"rm -rf"');
    });
  });

  describe('the Vercel AI SDK', () => {
    const model = () => createOpenAI({ baseURL: `${t.url}/v1`, apiKey: 'not-needed' }).chat(ALIAS);

    it('should run a tool with generateText and answer with its result', async () => {
      const result = await generateText({
        model: model(),
        maxRetries: 0,
        tools: {
          get_weather: tool({
            description: 'The weather in a city',
            inputSchema: z.object({ city: z.string() }),
            execute: ({ city }) => Promise.resolve(`Fog in ${city}`),
          }),
        },
        stopWhen: stepCountIs(3),
        prompt: 'Use get_weather for {"city":"London"}',
      });

      expect(result.steps).toHaveLength(2);
      expect(result.steps[0].toolCalls).toMatchObject([
        { toolName: 'get_weather', input: { city: 'London' } },
      ]);
      expect(result.text).toBe('Tool results: Fog in London');
      expect(result.finishReason).toBe('stop');
      expect(t.fake.requests[0].toolsOffered).toEqual(['get_weather']);
    });

    it('should stream tool calls with streamText', async () => {
      const result = streamText({
        model: model(),
        maxRetries: 0,
        tools: {
          get_time: tool({
            description: 'The time',
            inputSchema: z.object({}),
            execute: () => Promise.resolve('noon'),
          }),
        },
        stopWhen: stepCountIs(3),
        prompt: 'What does get_time say?',
      });
      expect(await result.text).toBe('Tool results: noon');
      const steps = await result.steps;
      expect(steps[0].toolCalls.map((c) => c.toolName)).toEqual(['get_time']);
      expect(t.fake.requests[0].body.stream).toBe(true);
    });

    it('should generate an object through json_schema with generateObject', async () => {
      const { object } = await generateObject({
        model: model(),
        maxRetries: 0,
        schema: z.object({ city: z.string(), population: z.number() }),
        prompt: 'Give me {"city":"Rome","population":2800000}',
      });

      expect(object).toEqual({ city: 'Rome', population: 2800000 });
      expect(t.fake.requests[0].body.response_format).toMatchObject({
        type: 'json_schema',
        json_schema: { schema: { type: 'object', required: ['city', 'population'] } },
      });
    });
  });

  describe('LangChain', () => {
    const chat = () =>
      new ChatOpenAI({
        model: ALIAS,
        apiKey: 'not-needed',
        maxRetries: 0,
        configuration: { baseURL: `${t.url}/v1` },
      });
    const weather = langchainTool(({ city }: { city: string }) => `Hail in ${city}`, {
      name: 'get_weather',
      description: 'The weather in a city',
      schema: z.object({ city: z.string() }),
    });

    it('should call a bound tool and answer its ToolMessage', async () => {
      const model = chat().bindTools([weather]);
      const question = 'Call get_weather with {"city":"Bern"}';
      const reply = await model.invoke(question);

      expect(reply.tool_calls).toEqual([
        expect.objectContaining({
          name: 'get_weather',
          args: { city: 'Bern' },
          id: expect.any(String),
        }),
      ]);
      const call = reply.tool_calls![0];
      const result = await weather.invoke(call);
      expect(result).toBeInstanceOf(ToolMessage);
      const answer = await model.invoke([['human', question], reply, result]);
      expect(answer.content).toBe('Tool results: Hail in Bern');
      expect(answer.tool_calls).toEqual([]);
    });

    it('should stream tool-call chunks with bindTools', async () => {
      const stream = await chat().bindTools([weather]).stream('get_weather {"city":"Graz"}');
      let args = '';
      for await (const chunk of stream)
        args += chunk.tool_call_chunks?.map((c) => c.args ?? '').join('') ?? '';
      expect(args).toBe('{"city":"Graz"}');
    });

    it('should give structured output by json_schema and by function calling', async () => {
      const schema = z.object({ city: z.string(), rank: z.number() });
      const bySchema = await chat()
        .withStructuredOutput(schema, { name: 'city', method: 'jsonSchema' })
        .invoke('Reply {"city":"Turin","rank":4}');
      expect(bySchema).toEqual({ city: 'Turin', rank: 4 });
      expect(t.fake.requests[0].body.response_format).toMatchObject({
        type: 'json_schema',
        json_schema: { name: 'city' },
      });

      const byTool = await chat()
        .withStructuredOutput(schema, { name: 'city', method: 'functionCalling' })
        .invoke('Reply {"city":"Pisa","rank":9}');
      expect(byTool).toEqual({ city: 'Pisa', rank: 9 });
      expect(t.fake.requests[1].toolChoice).toEqual({
        type: 'function',
        function: { name: 'city' },
      });
    });
  });
});

describe('OpenAI-compatible endpoint with tools and the response cache', () => {
  const t = withTestApp({
    env: { LMSTUDIO_MODEL: 'fake-model', LLM_MAX_RETRIES: '1', RESPONSE_CACHE_TTL_S: '60' },
  });

  it('should not retry a stream that broke after a tool-call piece, as after text', async () => {
    const client = sdk(t);
    const piece = {
      id: 'chatcmpl-x',
      object: 'chat.completion.chunk',
      created: 1,
      model: 'fake-model',
      choices: [
        {
          index: 0,
          delta: {
            tool_calls: [
              {
                index: 0,
                id: 'c1',
                type: 'function',
                function: { name: 'get_time', arguments: '' },
              },
            ],
          },
          finish_reason: null,
        },
      ],
    };
    const ask = {
      model: ALIAS,
      messages: [user('get_time')],
      tools: [TIME],
      stream: true as const,
    };
    t.fake.script({
      kind: 'raw',
      writes: [Buffer.from(`data: ${JSON.stringify(piece)}\n\n`)],
      ending: 'reset',
    });
    const chunks: ChatCompletionChunk[] = [];
    const error = await apiError(
      (async () => {
        for await (const chunk of await client.chat.completions.create(ask)) chunks.push(chunk);
      })(),
    );
    expect(error.code).toBe('provider_error');
    expect(chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? [])).toMatchObject([
      { id: 'c1', function: { name: 'get_time' } },
    ]);
    expect(t.fake.requests).toHaveLength(1);

    // The same break before any output is retried, and the retry answers.
    t.fake.script({ kind: 'raw', writes: [], ending: 'reset' });
    const retried = await collect(await client.chat.completions.create(ask));
    expect(retried.at(-1)?.choices[0].finish_reason).toBe('tool_calls');
    expect(t.fake.requests).toHaveLength(3);
  });

  it('should replay cached tool calls, whole and streamed, keyed on the tools', async () => {
    const client = sdk(t);
    const ask = {
      model: ALIAS,
      messages: [user('get_weather {"city":"Nice"}')],
      tools: [WEATHER],
      temperature: 0,
    };
    const first = await client.chat.completions.create(ask).withResponse();
    const again = await client.chat.completions.create(ask).withResponse();
    expect(first.response.headers.get('x-cache')).toBe('MISS');
    expect(again.response.headers.get('x-cache')).toBe('HIT');
    expect(again.data.choices[0]).toEqual(first.data.choices[0]);
    expect(again.data.choices[0].message.tool_calls).toHaveLength(1);

    const streamed = await collect(await client.chat.completions.create({ ...ask, stream: true }));
    const piece = streamed.flatMap((c) => c.choices[0]?.delta.tool_calls ?? [])[0];
    expect(piece).toMatchObject({
      id: first.data.choices[0].message.tool_calls![0].id,
      function: { name: 'get_weather', arguments: '{"city":"Nice"}' },
    });
    expect(streamed.at(-1)?.choices[0].finish_reason).toBe('tool_calls');

    // Other tools, another reply.
    const other = await client.chat.completions
      .create({ ...ask, tools: [WEATHER, TIME] })
      .withResponse();
    expect(other.response.headers.get('x-cache')).toBe('MISS');
    expect(t.fake.requests).toHaveLength(2);
  });
});
