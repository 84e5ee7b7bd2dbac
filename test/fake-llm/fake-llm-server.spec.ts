import {
  Groq,
  APIError as GroqAPIError,
  APIConnectionError as GroqConnectionError,
  RateLimitError as GroqRateLimitError,
} from 'groq-sdk';
import {
  APIConnectionError,
  AuthenticationError,
  NotFoundError,
  OpenAI,
  RateLimitError,
} from 'openai';
import { FakeLlmServer, splitPieces } from './fake-llm-server';

describe('FakeLlmServer', () => {
  const fake = new FakeLlmServer({ models: ['fake-model', 'other-model'] });
  let openai: OpenAI;
  let groq: Groq;

  beforeAll(async () => {
    await fake.start();
    openai = new OpenAI({ baseURL: fake.openAiBaseUrl, apiKey: 'x', maxRetries: 0 });
    groq = new Groq({ baseURL: fake.url, apiKey: 'x', maxRetries: 0 });
  });
  afterEach(() => fake.reset());
  afterAll(() => fake.stop());

  const user = (content: string) => ({ role: 'user' as const, content });

  it('splits replies into pieces that concatenate back exactly', () => {
    expect(splitPieces(' a  b\nc ')).toEqual([' a', '  b', '\nc', ' ']);
    expect(splitPieces('')).toEqual([]);
  });

  it('answers a summary request with the summary so far and the new user lines', async () => {
    const res = await openai.chat.completions.create({
      model: 'fake-model',
      messages: [
        { role: 'system', content: 'Update the running summary of a conversation …' },
        user(
          'Current summary:\nuser: I live in Lisbon.\n\nNew messages:\nuser: My name is Ada.\nassistant: Echo: My name is Ada.',
        ),
      ],
    });
    expect(res.choices[0].message.content).toBe('user: I live in Lisbon.\nuser: My name is Ada.');
  });

  it('lists models through both SDKs', async () => {
    const ids = (await openai.models.list()).data.map((m) => m.id);
    expect(ids).toEqual(['fake-model', 'other-model']);
    const groqModels = await groq.models.list();
    expect(groqModels.data.map((m) => m.id)).toEqual(ids);
    expect(groqModels.data[0]).toMatchObject({ object: 'model', owned_by: 'fake' });
    expect((await openai.models.retrieve('other-model')).id).toBe('other-model');
  });

  it('echoes the last user message and message count (openai, non-streaming)', async () => {
    const res = await openai.chat.completions.create({
      model: 'fake-model',
      messages: [
        { role: 'system', content: 'be nice' },
        user('first'),
        { role: 'assistant', content: 'ok' },
        user('hello there'),
      ],
    });
    expect(res).toMatchObject({
      object: 'chat.completion',
      model: 'fake-model',
      system_fingerprint: 'fp_fake',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: 'Echo: hello there [messages=4]' },
          finish_reason: 'stop',
        },
      ],
      usage: { prompt_tokens: 6, completion_tokens: 4, total_tokens: 10 },
    });
    expect(res.id).toMatch(/^chatcmpl-/);
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0]).toMatchObject({
      path: '/v1/chat/completions',
      method: 'POST',
      completed: true,
      aborted: false,
    });
    expect(fake.requests[0].body.messages).toHaveLength(4);
    expect(fake.requests[0].headers.authorization).toBe('Bearer x');
  });

  it('streams chunks with final usage (openai)', async () => {
    const stream = await openai.chat.completions.create({
      model: 'fake-model',
      messages: [user('one two three')],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    expect(text).toBe('Echo: one two three [messages=1]');
    expect(chunks[0].choices[0].delta).toEqual({ role: 'assistant', content: '' });
    expect(chunks.slice(1, -2).map((c) => c.choices[0].delta.content)).toEqual([
      'Echo:',
      ' one',
      ' two',
      ' three',
      ' [messages=1]',
    ]);
    expect(chunks.at(-2)?.choices[0]).toMatchObject({ delta: {}, finish_reason: 'stop' });
    expect(chunks.at(-1)).toMatchObject({
      choices: [],
      usage: { prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 },
    });
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
  });

  it('omits the usage chunk unless requested', async () => {
    const stream = await openai.chat.completions.create({
      model: 'fake-model',
      messages: [user('hi')],
      stream: true,
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.every((c) => c.choices.length === 1 && c.usage === undefined)).toBe(true);
  });

  it('serves Groq non-streaming and streaming under /openai/v1', async () => {
    const res = await groq.chat.completions.create({
      model: 'fake-model',
      messages: [user('hey groq')],
    });
    expect(res.choices[0].message.content).toBe('Echo: hey groq [messages=1]');
    const stream = await groq.chat.completions.create({
      model: 'fake-model',
      messages: [user('stream me')],
      stream: true,
    });
    let text = '';
    let finish: string | null = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(text).toBe('Echo: stream me [messages=1]');
    expect(finish).toBe('stop');
    expect(fake.requests.map((r) => r.path)).toEqual([
      '/openai/v1/chat/completions',
      '/openai/v1/chat/completions',
    ]);
  });

  it('returns a think block for /think, streaming and not', async () => {
    const expected = '<think>reasoning here</think>The answer.';
    const res = await openai.chat.completions.create({
      model: 'fake-model',
      messages: [user('/think please')],
    });
    expect(res.choices[0].message.content).toBe(expected);
    const stream = await openai.chat.completions.create({
      model: 'fake-model',
      messages: [user('/think')],
      stream: true,
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe(expected);
  });

  it('truncates at max_tokens with finish_reason length', async () => {
    const res = await openai.chat.completions.create({
      model: 'fake-model',
      messages: [user('a b c d')],
      max_tokens: 2,
    });
    expect(res.choices[0]).toMatchObject({
      message: { content: 'Echo: a' },
      finish_reason: 'length',
    });
    expect(res.usage?.completion_tokens).toBe(2);
  });

  it('rejects invalid bodies and unknown models with OpenAI-style errors', async () => {
    await expect(
      openai.chat.completions.create({ model: 'fake-model', messages: [] }),
    ).rejects.toMatchObject({
      status: 400,
      error: { type: 'invalid_request_error', param: 'messages' },
    });
    const err: unknown = await openai.chat.completions
      .create({ model: 'nope', messages: [user('x')] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err).toMatchObject({ status: 404, code: 'model_not_found' });
    expect((err as NotFoundError).message).toContain('The model `nope` does not exist');
    const raw = await fetch(`${fake.openAiBaseUrl}/chat/completions`, {
      method: 'POST',
      body: '{not json',
    });
    expect(raw.status).toBe(400);
    expect(await raw.json()).toMatchObject({ error: { message: 'Invalid JSON body' } });
    const unknown = await fetch(`${fake.url}/v2/whatever`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: 'unknown_url' } });
  });

  it('scripts a 429 with Retry-After visible through both SDKs', async () => {
    fake.script(
      { kind: 'error', status: 429, retryAfter: '7' },
      { kind: 'error', status: 429, retryAfter: '3' },
      { kind: 'error', status: 503, body: { error: { message: 'down' } } },
    );
    const err: unknown = await openai.chat.completions
      .create({ model: 'fake-model', messages: [user('x')] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitError);
    const rateLimit = err as RateLimitError;
    expect(rateLimit.status).toBe(429);
    expect(rateLimit.code).toBe('rate_limit_exceeded');
    expect(rateLimit.headers.get('retry-after')).toBe('7');

    const groqRateLimit: unknown = await groq.chat.completions
      .create({ model: 'fake-model', messages: [user('x')] })
      .catch((e: unknown) => e);
    expect(groqRateLimit).toBeInstanceOf(GroqRateLimitError);
    expect((groqRateLimit as GroqRateLimitError).headers?.get('retry-after')).toBe('3');

    const groqErr: unknown = await groq.chat.completions
      .create({ model: 'fake-model', messages: [user('x')] })
      .catch((e: unknown) => e);
    expect(groqErr).toBeInstanceOf(GroqAPIError);
    expect((groqErr as GroqAPIError).status).toBe(503);
    expect((groqErr as GroqAPIError).message).toContain('down');
    // Queue drained: back to the default reply.
    const ok = await openai.chat.completions.create({ model: 'fake-model', messages: [user('x')] });
    expect(ok.choices[0].message.content).toBe('Echo: x [messages=1]');
  });

  it('uses a scripted reply, streamed in pieces, with usage: null suppressing usage', async () => {
    fake.script(
      { kind: 'reply', content: 'Custom answer here', finishReason: 'tool_calls' },
      { kind: 'reply', content: 'No usage please', usage: null },
    );
    const res = await openai.chat.completions.create({
      model: 'fake-model',
      messages: [user('x')],
    });
    expect(res.choices[0]).toMatchObject({
      message: { content: 'Custom answer here' },
      finish_reason: 'tool_calls',
    });
    const stream = await openai.chat.completions.create({
      model: 'fake-model',
      messages: [user('x')],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('No usage please');
    expect(chunks.some((c) => c.usage)).toBe(false);
    expect(chunks.every((c) => c.choices.length === 1)).toBe(true);
  });

  it('hangs until the SDK timeout aborts, recording aborted', async () => {
    fake.script({ kind: 'hang' });
    const started = Date.now();
    const err: unknown = await openai.chat.completions
      .create({ model: 'fake-model', messages: [user('x')] }, { timeout: 200 })
      .catch((e: unknown) => e);
    // Under Jest the AbortError comes from another realm, so the SDK reports the APIConnectionTimeoutError
    // superclass (APIConnectionError) instead; outside Jest it is APIConnectionTimeoutError.
    expect(err).toBeInstanceOf(APIConnectionError);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    const [req] = await fake.waitFor((reqs) => reqs[0]?.aborted === true);
    expect(req).toMatchObject({ aborted: true, completed: false });
  });

  it('delays a slow reply', async () => {
    fake.script({ kind: 'slow', delayMs: 150 });
    const started = Date.now();
    const res = await openai.chat.completions.create({
      model: 'fake-model',
      messages: [user('x')],
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(res.choices[0].message.content).toBe('Echo: x [messages=1]');
  });

  it('holds requests until released, recording when each arrived and ended', async () => {
    let release!: () => void;
    const until = new Promise<void>((resolve) => (release = resolve));
    fake.script({ kind: 'held', until }, { kind: 'held', until });
    const replies = [user('a'), user('b')].map((message) =>
      openai.chat.completions.create({ model: 'fake-model', messages: [message] }),
    );
    await fake.waitForRequests(2);
    expect(fake.requests.map((r) => r.completed)).toEqual([false, false]);
    release();
    const contents = (await Promise.all(replies)).map((r) => r.choices[0].message.content);
    expect(contents).toEqual(['Echo: a [messages=1]', 'Echo: b [messages=1]']);
    for (const request of fake.requests)
      expect(request.endedAt).toBeGreaterThanOrEqual(request.receivedAt);
  });

  it('drops the connection mid-stream so SDK iteration throws', async () => {
    fake.script({ kind: 'drop', afterChunks: 2 });
    const stream = await openai.chat.completions.create({
      model: 'fake-model',
      messages: [user('a b c d e')],
      stream: true,
    });
    const received: string[] = [];
    const iterate = async () => {
      for await (const chunk of stream) received.push(chunk.choices[0]?.delta.content ?? '');
    };
    await expect(iterate()).rejects.toThrow();
    expect(received).toEqual(['', 'Echo:', ' a']);
    expect(fake.requests[0]).toMatchObject({ aborted: false, completed: false });
  });

  it('drops a non-streaming request without a response', async () => {
    fake.script({ kind: 'drop', afterChunks: 0 });
    const err: unknown = await groq.chat.completions
      .create({ model: 'fake-model', messages: [user('x')] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GroqConnectionError);
  });

  it('sends raw writes as they are: split events, a character cut in two, no [DONE]', async () => {
    const event = Buffer.from(
      `data: ${JSON.stringify({ model: 'm', choices: [{ index: 0, delta: { content: 'né' }, finish_reason: null }] })}\n\n`,
    );
    const cut = event.indexOf('é') + 1;
    fake.script({ kind: 'raw', writes: [event.subarray(0, cut), event.subarray(cut)] });
    const stream = await openai.chat.completions.create({
      model: 'fake-model',
      messages: [user('x')],
      stream: true,
    });
    const received: string[] = [];
    for await (const chunk of stream) received.push(chunk.choices[0]?.delta.content ?? '');
    expect(received).toEqual(['né']);

    fake.script({ kind: 'raw', writes: [Buffer.from('{"choices":[')], ending: 'close' });
    await expect(
      openai.chat.completions.create({ model: 'fake-model', messages: [user('x')] }),
    ).rejects.toThrow();
    expect(fake.requests[1]).toMatchObject({ aborted: false, completed: false });
  });

  it('streams slowly so the client can cancel mid-stream', async () => {
    fake.script({ kind: 'streamSlow', chunkDelayMs: 50 });
    const controller = new AbortController();
    const stream = await openai.chat.completions.create(
      { model: 'fake-model', messages: [user('a b c d e f g h')], stream: true },
      { signal: controller.signal },
    );
    const received: string[] = [];
    const iterate = async () => {
      for await (const chunk of stream) {
        received.push(chunk.choices[0]?.delta.content ?? '');
        if (received.length === 3) controller.abort();
      }
    };
    // The SDK ends iteration quietly on a user abort.
    await iterate();
    expect(received).toHaveLength(3);
    const [req] = await fake.waitFor((reqs) => reqs[0]?.aborted === true);
    expect(req.completed).toBe(false);
  });

  it('waitForRequests resolves once enough requests arrive and rejects on timeout', async () => {
    await expect(fake.waitForRequests(1, 50)).rejects.toThrow(/timed out/);
    const waiting = fake.waitForRequests(2);
    await Promise.all(
      [1, 2].map(() =>
        openai.chat.completions.create({ model: 'fake-model', messages: [user('x')] }),
      ),
    );
    expect(await waiting).toHaveLength(2);
  });

  it('applies latency and token delay options', async () => {
    const slow = new FakeLlmServer({ latencyMs: 100, tokenDelayMs: 20 });
    await slow.start();
    try {
      const client = new OpenAI({ baseURL: slow.openAiBaseUrl, apiKey: 'x', maxRetries: 0 });
      const started = Date.now();
      const stream = await client.chat.completions.create({
        model: 'fake-model',
        messages: [user('a b c')],
        stream: true,
      });
      for await (const chunk of stream) void chunk;
      // 100ms latency + 5 delayed chunks (4 content + finish) of 20ms.
      expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    } finally {
      await slow.stop();
    }
  });

  it('stop() closes hanging connections', async () => {
    const other = new FakeLlmServer();
    await other.start();
    other.script({ kind: 'hang' });
    const client = new OpenAI({ baseURL: other.openAiBaseUrl, apiKey: 'x', maxRetries: 0 });
    const pending = client.chat.completions
      .create({ model: 'fake-model', messages: [user('x')] })
      .catch((e: unknown) => e);
    await other.waitForRequests(1);
    await other.stop();
    expect(await pending).toBeInstanceOf(APIConnectionError);
  });

  describe('with an API key', () => {
    const keyed = new FakeLlmServer({ apiKey: 'sk-right-key-1234' });
    beforeAll(() => keyed.start());
    afterAll(() => keyed.stop());

    const client = (apiKey: string) =>
      new OpenAI({ baseURL: keyed.openAiBaseUrl, apiKey, maxRetries: 0 });

    it('answers a request with the bearer key, and refuses a wrong one with 401 like OpenAI', async () => {
      const ok = await client('sk-right-key-1234').chat.completions.create({
        model: 'fake-model',
        messages: [user('hi')],
      });
      expect(ok.choices[0].message.content).toBe('Echo: hi [messages=1]');
      const refused = client('sk-wrong-key-9999').models.list();
      await expect(refused).rejects.toBeInstanceOf(AuthenticationError);
      await expect(refused).rejects.toMatchObject({
        status: 401,
        code: 'invalid_api_key',
        message: expect.stringContaining('Incorrect API key provided: sk-***9999'),
      });
      expect(keyed.refusedKeys).toBe(1);
      expect(keyed.requests).toHaveLength(1);
    });
  });
});

describe('FakeLlmServer tools and structured output', () => {
  const fake = new FakeLlmServer();
  let openai: OpenAI;
  const weather = {
    type: 'function' as const,
    function: {
      name: 'get_weather',
      parameters: {
        type: 'object',
        properties: { city: { type: 'string' }, days: { type: 'integer', minimum: 1 } },
        required: ['city', 'days'],
      },
    },
  };
  const time = { type: 'function' as const, function: { name: 'get_time' } };
  const ask = (content: string) => ({
    model: 'fake-model',
    messages: [{ role: 'user' as const, content }],
  });

  beforeAll(async () => {
    await fake.start();
    openai = new OpenAI({ baseURL: fake.openAiBaseUrl, apiKey: 'x', maxRetries: 0 });
  });
  afterEach(() => fake.reset());
  afterAll(() => fake.stop());

  it('calls a mentioned tool with the JSON object of the message, and records what it got', async () => {
    const res = await openai.chat.completions.create({
      ...ask('Use get_weather for {"city": "Paris", "days": 2} please'),
      tools: [weather, time],
      tool_choice: 'auto',
    });
    expect(res.choices[0]).toMatchObject({
      finish_reason: 'tool_calls',
      message: {
        content: null,
        tool_calls: [
          {
            id: expect.stringMatching(/^call_fake/),
            type: 'function',
            function: { name: 'get_weather', arguments: '{"city":"Paris","days":2}' },
          },
        ],
      },
    });
    expect(fake.requests[0]).toMatchObject({
      toolsOffered: ['get_weather', 'get_time'],
      toolChoice: 'auto',
    });
  });

  it('calls every tool mentioned unless parallel_tool_calls is false, none never', async () => {
    const both = await openai.chat.completions.create({
      ...ask('get_time and get_weather'),
      tools: [weather, time],
    });
    expect(
      both.choices[0].message.tool_calls?.map((c) => c.type === 'function' && c.function),
    ).toEqual([
      { name: 'get_weather', arguments: '{"city":"text","days":1}' },
      { name: 'get_time', arguments: '{}' },
    ]);
    const one = await openai.chat.completions.create({
      ...ask('get_time and get_weather'),
      tools: [weather, time],
      parallel_tool_calls: false,
    });
    expect(one.choices[0].message.tool_calls).toHaveLength(1);
    const none = await openai.chat.completions.create({
      ...ask('get_time'),
      tools: [time],
      tool_choice: 'none',
    });
    expect(none.choices[0]).toMatchObject({
      finish_reason: 'stop',
      message: { content: 'Echo: get_time [messages=1]' },
    });
  });

  it('forces a call with required or a named function, without a mention', async () => {
    const required = await openai.chat.completions.create({
      ...ask('hello'),
      tools: [time, weather],
      tool_choice: 'required',
    });
    expect(required.choices[0].message.tool_calls?.[0]).toMatchObject({
      function: { name: 'get_time' },
    });
    const named = await openai.chat.completions.create({
      ...ask('hello get_time'),
      tools: [time, weather],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
    });
    expect(
      named.choices[0].message.tool_calls?.map((c) => c.type === 'function' && c.function.name),
    ).toEqual(['get_weather']);
  });

  it('streams calls in pieces that join to the whole call', async () => {
    const stream = await openai.chat.completions.create({
      ...ask('get_weather {"city":"Oslo","days":3}'),
      tools: [weather],
      stream: true,
    });
    const pieces: string[] = [];
    let finish: string | null = null;
    for await (const chunk of stream) {
      const call = chunk.choices[0]?.delta.tool_calls?.[0];
      if (call) pieces.push(call.function?.arguments ?? '');
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(pieces.length).toBeGreaterThanOrEqual(3);
    expect(pieces.join('')).toBe('{"city":"Oslo","days":3}');
    expect(finish).toBe('tool_calls');
  });

  it('answers tool results with each output verbatim', async () => {
    const res = await openai.chat.completions.create({
      model: 'fake-model',
      messages: [
        { role: 'user', content: 'get_time and get_weather' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'a', type: 'function', function: { name: 'get_time', arguments: '{}' } },
            { id: 'b', type: 'function', function: { name: 'get_weather', arguments: '{}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'a', content: '12:00' },
        { role: 'tool', tool_call_id: 'b', content: '{"sky":"clear"}' },
      ],
      tools: [weather, time],
    });
    expect(res.choices[0].message.content).toBe('Tool results: 12:00 | {"sky":"clear"}');
  });

  it('answers json_object and json_schema with valid JSON', async () => {
    const fromMessage = await openai.chat.completions.create({
      ...ask('Return {"city":"Rome"} now'),
      response_format: { type: 'json_object' },
    });
    expect(JSON.parse(fromMessage.choices[0].message.content!)).toEqual({ city: 'Rome' });
    const plain = await openai.chat.completions.create({
      ...ask('hi'),
      response_format: { type: 'json_object' },
    });
    expect(JSON.parse(plain.choices[0].message.content!)).toEqual({
      reply: 'Echo: hi [messages=1]',
    });
    const schema = await openai.chat.completions.create({
      ...ask('a city'),
      response_format: {
        type: 'json_schema',
        json_schema: { name: 'c', schema: weather.function.parameters, strict: true },
      },
    });
    expect(JSON.parse(schema.choices[0].message.content!)).toEqual({ city: 'text', days: 1 });
  });
});
