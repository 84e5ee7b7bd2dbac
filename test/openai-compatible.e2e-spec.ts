import { SignJWT } from 'jose';
import OpenAI from 'openai';
import type { ChatCompletionChunk, ChatCompletionCreateParamsNonStreaming } from 'openai/resources';

import { generateApiKey, hashApiKey } from '../src/auth/api-keys';
import { apiError } from './utils/owners';
import { AppClient, waitUntil, withTestApp } from './utils/harness';

const ALIAS = 'lmstudio/default';
const SECRET = 'test-secret-that-is-long-enough-0123456789';

/** The real SDK as an OpenAI user would point it at us; no SDK retries, so counts are exact. */
function sdk(t: AppClient, apiKey = 'not-needed', defaultHeaders?: Record<string, string>): OpenAI {
  return new OpenAI({ baseURL: `${t.url}/v1`, apiKey, maxRetries: 0, defaultHeaders });
}

async function collect(stream: AsyncIterable<ChatCompletionChunk>): Promise<ChatCompletionChunk[]> {
  const chunks: ChatCompletionChunk[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

const textOf = (chunks: ChatCompletionChunk[]): string =>
  chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');

/** `reasoning_content` is not in the SDK's types; it passes through as an extra field. */
const reasoningOf = (value: object): string | undefined =>
  (value as { reasoning_content?: string }).reasoning_content;

const ask = (content: string, extra: Partial<ChatCompletionCreateParamsNonStreaming> = {}) => ({
  model: ALIAS,
  messages: [{ role: 'user' as const, content }],
  ...extra,
});

async function metric(t: AppClient, result: 'hit' | 'miss'): Promise<number> {
  const text = (await t.http.get('/metrics').expect(200)).text;
  const match = new RegExp(`^response_cache_lookups_total\\{result="${result}"\\} (\\d+)$`, 'm');
  return Number(match.exec(text)?.[1]);
}

/** Exact upstream counts: one attempt per call, and no model-list lookups. */
const LLM_ENV = { LMSTUDIO_MODEL: 'fake-model', LLM_MAX_RETRIES: '0' };

describe('OpenAI-compatible endpoint', () => {
  describe('with the cache off (the default)', () => {
    const t = withTestApp({
      env: {
        ...LLM_ENV,
        // Groq configured on a port nobody listens on: the "provider down" case.
        GROQ_API_KEY: 'gsk_test',
        GROQ_BASE_URL: 'http://127.0.0.1:9',
        MAX_CONCURRENT_GENERATIONS_PER_OWNER: '1',
      },
    });
    let client: OpenAI;
    beforeAll(() => (client = sdk(t)));

    it('should list the aliases as OpenAI model objects', async () => {
      const models = await client.models.list();
      const ids = models.data.map((m) => m.id);
      expect(ids).toEqual(expect.arrayContaining([ALIAS, 'groq/llama-3.3-70b']));
      expect(models.data.find((m) => m.id === ALIAS)).toMatchObject({
        object: 'model',
        owned_by: 'lmstudio',
        created: expect.any(Number),
      });
      expect(await client.models.retrieve('groq/llama-3.3-70b')).toMatchObject({
        id: 'groq/llama-3.3-70b',
        owned_by: 'groq',
      });
    });

    it('should answer a whole completion with usage, passing the params upstream', async () => {
      const { data, response } = await client.chat.completions
        .create({
          model: ALIAS,
          messages: [
            { role: 'system', content: 'Be brief.' },
            { role: 'user', content: 'Hello there' },
          ],
          temperature: 0.5,
          top_p: 0.9,
          max_tokens: 50,
          seed: 7,
          stop: ['\n\n'],
        })
        .withResponse();

      expect(data).toMatchObject({
        object: 'chat.completion',
        model: ALIAS,
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: 'Echo: Hello there [messages=2]' },
            finish_reason: 'stop',
          },
        ],
        usage: { prompt_tokens: 4, completion_tokens: 4, total_tokens: 8 },
      });
      expect(data.id).toMatch(/^chatcmpl-/);
      expect(response.headers.get('x-cache')).toBeNull();
      expect(t.fake.requests).toHaveLength(1);
      expect(t.fake.requests[0].body).toMatchObject({
        model: 'fake-model',
        temperature: 0.5,
        top_p: 0.9,
        max_tokens: 50,
        seed: 7,
        stop: ['\n\n'],
        stream: false,
      });
      expect(t.fake.requests[0].body).not.toHaveProperty('response_format');
    });

    it('should take content-part arrays, developer messages and max_completion_tokens', async () => {
      const completion = await client.chat.completions.create({
        model: ALIAS,
        messages: [
          { role: 'developer', content: 'Rules.' },
          {
            role: 'user',
            content: [
              { type: 'text', text: 'one' },
              { type: 'text', text: 'two' },
            ],
          },
        ],
        max_completion_tokens: 2,
      });

      expect(completion.choices[0]).toMatchObject({
        message: { content: 'Echo: one' },
        finish_reason: 'length',
      });
      expect(t.fake.requests[0].body).toMatchObject({
        messages: [
          { role: 'system', content: 'Rules.' },
          { role: 'user', content: 'one\ntwo' },
        ],
        max_tokens: 2,
      });
    });

    it('should stream chunks in OpenAI format, with a final usage chunk when asked', async () => {
      const chunks = await collect(
        await client.chat.completions.create({
          ...ask('Stream me'),
          stream: true,
          stream_options: { include_usage: true },
        }),
      );

      expect(chunks[0].choices[0].delta).toEqual({ role: 'assistant', content: '' });
      expect(textOf(chunks)).toBe('Echo: Stream me [messages=1]');
      expect(chunks.length).toBeGreaterThan(4);
      const [finish, usage] = chunks.slice(-2);
      expect(finish.choices[0].finish_reason).toBe('stop');
      expect(usage.choices).toEqual([]);
      expect(usage.usage).toEqual({ prompt_tokens: 2, completion_tokens: 4, total_tokens: 6 });
      expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
      expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
      expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.model === ALIAS)).toBe(
        true,
      );
    });

    it('should end the event stream with data: [DONE] and leave usage out unless asked', async () => {
      const res = await fetch(`${t.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...ask('Wire'), stream: true }),
      });
      const body = await res.text();

      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect(body.endsWith('data: [DONE]\n\n')).toBe(true);
      const frames = body.split('\n\n').filter(Boolean);
      expect(frames.every((f) => f.startsWith('data: '))).toBe(true);
      expect(body).not.toContain('"usage"');
    });

    it('should split <think> reasoning into reasoning_content, whole and streamed', async () => {
      const completion = await client.chat.completions.create(ask('/think hard'));
      expect(completion.choices[0].message.content).toBe('The answer.');
      expect(reasoningOf(completion.choices[0].message)).toBe('reasoning here');

      const chunks = await collect(
        await client.chat.completions.create({ ...ask('/think hard'), stream: true }),
      );
      expect(textOf(chunks)).toBe('The answer.');
      expect(chunks.map((c) => reasoningOf(c.choices[0]?.delta ?? {}) ?? '').join('')).toBe(
        'reasoning here',
      );
    });

    it('should pass response_format json_object through to the provider', async () => {
      await client.chat.completions.create(
        ask('Give JSON', { response_format: { type: 'json_object' } }),
      );
      await collect(
        await client.chat.completions.create({
          ...ask('Give JSON'),
          response_format: { type: 'json_object' },
          stream: true,
        }),
      );

      expect(t.fake.requests.map((r) => r.body.response_format)).toEqual([
        { type: 'json_object' },
        { type: 'json_object' },
      ]);
    });

    it('should answer an unknown model 404 model_not_found, as OpenAI does', async () => {
      const error = await apiError(
        client.chat.completions.create({ ...ask('hi'), model: 'no/such' }),
      );

      expect(error).toBeInstanceOf(OpenAI.NotFoundError);
      expect(error).toMatchObject({
        status: 404,
        code: 'model_not_found',
        type: 'invalid_request_error',
        param: 'model',
      });
      expect(error.message).toContain('no/such');
      expect(await apiError(client.models.retrieve('no/such'))).toMatchObject({ status: 404 });
      expect(t.fake.requests).toHaveLength(0);
    });

    it('should take what OpenAI clients send by default, passing the penalties upstream', async () => {
      const reply = await client.chat.completions.create({
        model: ALIAS,
        messages: [
          { role: 'user', content: 'Weather?' },
          // What an assistant turn that called a tool looks like (tool calls left out here).
          { role: 'assistant', content: null },
          { role: 'user', content: 'Thanks' },
        ],
        frequency_penalty: 0.5,
        presence_penalty: -0.25,
        user: 'user-1234',
        logprobs: false,
        n: 1,
        store: false,
        metadata: { app: 'demo' },
      });
      expect(reply.choices[0].message.content).toBe('Echo: Thanks [messages=3]');
      const upstream = t.fake.requests[0].body as Record<string, unknown>;
      expect(upstream).toMatchObject({ frequency_penalty: 0.5, presence_penalty: -0.25 });
      expect(upstream.messages).toEqual([
        { role: 'user', content: 'Weather?' },
        { role: 'assistant', content: '' },
        { role: 'user', content: 'Thanks' },
      ]);
      for (const field of ['user', 'logprobs', 'n', 'store', 'metadata'])
        expect(upstream).not.toHaveProperty(field);
    });

    it('should answer bad bodies 400 invalid_request_error naming the parameter', async () => {
      const cases: [object, string][] = [
        [{ ...ask('hi'), temperature: 3 }, 'temperature'],
        [{ model: ALIAS, messages: [] }, 'messages'],
        [{ model: ALIAS, messages: [{ role: 'tool', content: 'x' }] }, 'messages.0.tool_call_id'],
        [{ model: ALIAS, messages: [{ role: 'function', content: 'x' }] }, 'messages.0.role'],
        [
          {
            model: ALIAS,
            messages: [
              { role: 'user', content: [{ type: 'image_url', image_url: { url: 'ftp://x' } }] },
            ],
          },
          'messages.0.content',
        ],
        [{ ...ask('hi'), n: 2 }, 'n'],
        [{ ...ask('hi'), logprobs: true }, 'logprobs'],
        [{ model: ALIAS, messages: [{ role: 'user', content: null }] }, 'messages.0.content'],
        [{ ...ask('hi'), tools: [{ type: 'custom', function: { name: 'x' } }] }, 'tools.0.type'],
        [{ ...ask('hi'), response_format: { type: 'json_schema' } }, 'response_format.json_schema'],
        [{ ...ask('hi'), response_format: { type: 'xml' } }, 'response_format.type'],
      ];
      for (const [body, param] of cases) {
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
      }
      expect(t.fake.requests).toHaveLength(0);
    });

    it('should answer malformed JSON in the OpenAI error shape', async () => {
      const res = await fetch(`${t.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"model":',
      });

      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({
        error: {
          message: expect.stringContaining('not valid JSON'),
          type: 'invalid_request_error',
          code: 'invalid_json',
          param: null,
        },
      });
    });

    it("should answer a provider's 429 as 429 with its Retry-After, whole and streamed", async () => {
      t.fake.script(
        { kind: 'error', status: 429, retryAfter: '7' },
        { kind: 'error', status: 429, retryAfter: '7' },
      );
      const whole = await apiError(client.chat.completions.create(ask('hi')));
      const streamed = await apiError(
        client.chat.completions.create({ ...ask('hi'), stream: true }),
      );

      for (const error of [whole, streamed]) {
        expect(error).toBeInstanceOf(OpenAI.RateLimitError);
        expect(error).toMatchObject({
          status: 429,
          code: 'provider_rate_limited',
          type: 'rate_limit_error',
        });
        expect(error.headers?.get('retry-after')).toBe('7');
      }
    });

    it('should answer 503 provider_unavailable when the provider cannot be reached', async () => {
      const error = await apiError(
        client.chat.completions.create({ ...ask('hi'), model: 'groq/llama-3.1-8b' }),
      );

      expect(error).toBeInstanceOf(OpenAI.InternalServerError);
      expect(error).toMatchObject({
        status: 503,
        code: 'provider_unavailable',
        type: 'server_error',
      });
      expect(error.message).toContain('Could not reach Groq');
    });

    it('should cap concurrent replies per owner with 429 too_many_generations', async () => {
      let release = (): void => undefined;
      t.fake.script({ kind: 'held', until: new Promise<void>((r) => (release = r)) });
      const first = client.chat.completions.create(ask('one'));
      await t.fake.waitForRequests(1);
      const refused = await apiError(client.chat.completions.create(ask('two')));
      release();

      expect(refused).toMatchObject({ status: 429, code: 'too_many_generations' });
      expect(refused.headers?.get('retry-after')).toBe('1');
      expect((await first).choices[0].message.content).toBe('Echo: one [messages=1]');
      expect((await client.chat.completions.create(ask('three'))).choices).toHaveLength(1);
    });

    it('should raise a failure after the first chunk as an error event the SDK throws', async () => {
      t.fake.script({ kind: 'drop', afterChunks: 2 });
      const stream = await client.chat.completions.create({
        ...ask('one two three'),
        stream: true,
      });
      const seen: string[] = [];
      const error = await apiError(
        (async () => {
          for await (const chunk of stream) seen.push(chunk.choices[0]?.delta.content ?? '');
        })(),
      );

      expect(seen.join('')).toBe('Echo: one');
      expect(error).toMatchObject({ code: 'provider_error', type: 'server_error' });
    });

    it('should abort the upstream request when the client leaves a stream', async () => {
      t.fake.script({ kind: 'streamSlow', chunkDelayMs: 100 });
      const stream = await client.chat.completions.create({
        ...ask('a b c d e f g h i j k l m n o p'),
        stream: true,
      });
      // Leaving the loop is how an SDK user stops reading; the SDK then closes the request.
      for await (const chunk of stream) if (chunk.choices[0]?.delta.content) break;

      const [request] = await t.fake.waitFor((r) => r[0]?.aborted === true);
      expect(request.completed).toBe(false);
    });

    it('should abort the upstream request when the client leaves a whole completion', async () => {
      t.fake.script({ kind: 'hang' });
      const abort = new AbortController();
      const pending = client.chat.completions.create(ask('wait'), { signal: abort.signal });
      await t.fake.waitForRequests(1);
      abort.abort();

      expect(await apiErrorOrAbort(pending)).toBe('aborted');
      await t.fake.waitFor((r) => r[0]?.aborted === true);
    });

    it('should answer other /v1 paths 404 in the OpenAI error shape', async () => {
      const res = await fetch(`${t.url}/v1/embeddings`, { method: 'POST' });

      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({
        error: {
          message: expect.stringContaining('POST /v1/embeddings is not served here'),
          type: 'invalid_request_error',
          code: 'not_found',
          param: null,
        },
      });
      // The rest of the API keeps its own error body.
      expect((await t.http.get('/api/v1/nope').expect(404)).body.error).toBe('not_found');
    });

    it('should document both routes in Swagger under the openai tag', async () => {
      const doc = (await t.http.get('/docs-json').expect(200)).body;

      expect(doc.paths['/v1/chat/completions'].post.tags).toEqual(['openai']);
      expect(doc.paths['/v1/models'].get.tags).toEqual(['openai']);
      expect(doc.paths).not.toHaveProperty('/api/v1/v1/models');
    });
  });

  describe("an alias's context window", () => {
    const t = withTestApp({
      env: LLM_ENV,
      models: [
        { alias: 'lmstudio/8k', provider: 'lmstudio', model: 'fake-model', contextWindow: 8192 },
      ],
    });

    it('should refuse a prompt over the window with 400 context_length_exceeded, giving the counts', async () => {
      const client = sdk(t);
      const long = 'lorem ipsum dolor sit amet '.repeat(3000); // well over 8k tokens
      for (const stream of [false, true]) {
        const error = await apiError(
          client.chat.completions.create({
            model: 'lmstudio/8k',
            messages: [{ role: 'user', content: long }],
            stream,
          }),
        );
        expect(error).toBeInstanceOf(OpenAI.BadRequestError);
        expect(error).toMatchObject({
          status: 400,
          code: 'context_length_exceeded',
          type: 'invalid_request_error',
          param: 'messages',
        });
        expect(error.message).toMatch(/8192 tokens.*resulted in \d{5} tokens/);
      }
      // A prompt that fits, but not with the reply it asks for.
      const fits = 'lorem ipsum dolor sit amet '.repeat(600);
      const error = await apiError(
        client.chat.completions.create({
          model: 'lmstudio/8k',
          messages: [{ role: 'user', content: fits }],
          max_tokens: 8000,
        }),
      );
      expect(error.message).toMatch(
        /requested \d+ tokens \(\d+ in the messages, 8000 in the completion\)/,
      );
      expect(t.fake.requests).toHaveLength(0);
      await client.chat.completions.create({
        model: 'lmstudio/8k',
        messages: [{ role: 'user', content: fits }],
      });
      expect(t.fake.requests).toHaveLength(1);
    });
  });

  describe('authentication and limits', () => {
    const aliceKey = generateApiKey();
    const t = withTestApp({
      env: { ...LLM_ENV, AUTH_MODE: 'jwt', JWT_SECRET: SECRET, RATE_LIMIT_PER_MINUTE: '3' },
    });

    it('should take a JWT as the Bearer key and refuse requests without one (AUTH_MODE=jwt)', async () => {
      const token = await new SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('alice')
        .setExpirationTime('1h')
        .sign(new TextEncoder().encode(SECRET));
      const badKey = await apiError(sdk(t, 'nope').models.list());
      expect(badKey).toBeInstanceOf(OpenAI.AuthenticationError);
      expect(badKey).toMatchObject({
        status: 401,
        code: 'invalid_token',
        type: 'authentication_error',
      });
      const res = await fetch(`${t.url}/v1/models`);
      expect(res.status).toBe(401);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
        'missing_credentials',
      );

      const client = sdk(t, token);
      expect((await client.chat.completions.create(ask('hi'))).choices).toHaveLength(1);
      // The limit counts every route of the owner: the completion above and two lists.
      for (let i = 0; i < 2; i++) await client.models.list();
      const limited = await apiError(client.models.list());
      expect(limited).toMatchObject({
        status: 429,
        code: 'rate_limited',
        type: 'rate_limit_error',
      });
    });

    it('should take the API key as Bearer or X-API-Key on /v1 only (AUTH_MODE=api-key)', async () => {
      const app = await t.startApp({
        env: { AUTH_MODE: 'api-key', API_KEYS: `alice:${hashApiKey(aliceKey).toString('hex')}` },
      });
      expect((await sdk(app, aliceKey).models.list()).data.length).toBeGreaterThan(0);
      const viaHeader = sdk(app, 'ignored', { 'X-API-Key': aliceKey });
      expect((await viaHeader.chat.completions.create(ask('hi'))).choices).toHaveLength(1);

      const missing = await fetch(`${app.url}/v1/chat/completions`, { method: 'POST' });
      expect(missing.status).toBe(401);
      expect(await apiError(sdk(app, 'cbk_wrong').models.list())).toMatchObject({
        status: 401,
        code: 'invalid_api_key',
      });
      // The REST API keeps its one way of sending a key.
      await app.http.get('/api/v1/models').set('Authorization', `Bearer ${aliceKey}`).expect(401);
    });
  });

  describe('response cache', () => {
    const keys = { alice: generateApiKey(), bob: generateApiKey() };
    const t = withTestApp({
      env: {
        ...LLM_ENV,
        AUTH_MODE: 'api-key',
        API_KEYS: Object.entries(keys)
          .map(([owner, key]) => `${owner}:${hashApiKey(key).toString('hex')}`)
          .join(','),
        RESPONSE_CACHE_TTL_S: '300',
      },
    });
    let alice: OpenAI;
    let bob: OpenAI;
    beforeAll(() => {
      alice = sdk(t, keys.alice);
      bob = sdk(t, keys.bob);
    });

    const create = async (client: OpenAI, body: ChatCompletionCreateParamsNonStreaming) => {
      const { data, response } = await client.chat.completions.create(body).withResponse();
      return { content: data.choices[0].message.content, cache: response.headers.get('x-cache') };
    };

    it('should answer an identical deterministic request from the cache, without an upstream call', async () => {
      const hits = await metric(t, 'hit');
      const misses = await metric(t, 'miss');
      const body = ask('cache me', { temperature: 0 });
      const first = await create(alice, body);
      const second = await create(alice, body);

      expect(first).toEqual({ content: 'Echo: cache me [messages=1]', cache: 'MISS' });
      expect(second).toEqual({ ...first, cache: 'HIT' });
      expect(t.fake.requests).toHaveLength(1);
      expect(await metric(t, 'hit')).toBe(hits + 1);
      expect(await metric(t, 'miss')).toBe(misses + 1);
    });

    it('should never share an entry across owners', async () => {
      const body = ask('mine only', { seed: 1 });
      expect((await create(alice, body)).cache).toBe('MISS');
      expect((await create(bob, body)).cache).toBe('MISS');
      expect((await create(bob, body)).cache).toBe('HIT');

      expect(t.fake.requests).toHaveLength(2);
    });

    it('should call upstream for every non-deterministic request, and tell no X-Cache', async () => {
      const body = ask('random', { temperature: 0.7 });
      const answers = [await create(alice, body), await create(alice, body)];

      expect(answers.map((a) => a.cache)).toEqual([null, null]);
      expect(t.fake.requests).toHaveLength(2);
    });

    it('should key on every param that shapes the reply', async () => {
      const base = ask('params', { temperature: 0 });
      const variants = [
        base,
        { ...base, seed: 5 },
        { ...base, max_tokens: 3 },
        { ...base, stop: ['x'] },
        { ...base, response_format: { type: 'json_object' as const } },
        { ...base, messages: [{ role: 'system' as const, content: 'S' }, ...base.messages] },
      ];
      for (const body of variants) expect((await create(alice, body)).cache).toBe('MISS');

      expect(t.fake.requests).toHaveLength(variants.length);
    });

    it('should replay a cached reply as a stream, with usage and reasoning, and cache a streamed one', async () => {
      const body = ask('/think replay', { temperature: 0 });
      await create(alice, body);
      const { data: stream, response } = await alice.chat.completions
        .create({ ...body, stream: true, stream_options: { include_usage: true } })
        .withResponse();
      const chunks = await collect(stream);

      expect(response.headers.get('x-cache')).toBe('HIT');
      expect(textOf(chunks)).toBe('The answer.');
      expect(chunks.map((c) => reasoningOf(c.choices[0]?.delta ?? {}) ?? '').join('')).toBe(
        'reasoning here',
      );
      expect(chunks.at(-1)?.usage).toMatchObject({ completion_tokens: expect.any(Number) });

      const streamedFirst = ask('streamed first', { seed: 9 });
      const miss = await alice.chat.completions
        .create({ ...streamedFirst, stream: true })
        .withResponse();
      expect(miss.response.headers.get('x-cache')).toBe('MISS');
      await collect(miss.data);
      expect(await create(alice, streamedFirst)).toEqual({
        content: 'Echo: streamed first [messages=1]',
        cache: 'HIT',
      });
      expect(t.fake.requests).toHaveLength(2);
    });

    it('should not serve an expired entry, and replace it with the new reply', async () => {
      const body = ask('stale', { temperature: 0 });
      await create(alice, body);
      // Expired by hand: the sweep runs once a minute here, so the row stays for the lookup.
      await t.prisma
        .$executeRaw`UPDATE response_cache SET expires_at = now() - interval '1 second'`;

      expect((await create(alice, body)).cache).toBe('MISS');
      expect((await create(alice, body)).cache).toBe('HIT');
      expect(t.fake.requests).toHaveLength(2);
    });

    it('should not cache a failure', async () => {
      t.fake.script({ kind: 'error', status: 500 });
      const body = ask('fails once', { temperature: 0 });
      expect(await apiError(alice.chat.completions.create(body))).toMatchObject({ status: 502 });
      expect(await create(alice, body)).toMatchObject({ cache: 'MISS' });

      expect(t.fake.requests).toHaveLength(2);
    });
  });

  describe('response cache expiry and size', () => {
    const t = withTestApp({
      env: { ...LLM_ENV, RESPONSE_CACHE_TTL_S: '1' },
    });
    let client: OpenAI;
    beforeAll(() => (client = sdk(t)));
    beforeEach(() => t.prisma.$executeRaw`DELETE FROM response_cache`);

    const rows = async (): Promise<string[]> =>
      (
        await t.prisma.$queryRaw<{ content: string }[]>`
          SELECT reply->>'content' AS content FROM response_cache ORDER BY created_at`
      ).map((r) => r.content);

    it('should delete an entry once its TTL has passed, and call upstream again', async () => {
      const body = ask('expires', { temperature: 0 });
      await client.chat.completions.create(body);
      expect(await rows()).toHaveLength(1);

      // The periodic sweep (once per TTL) deletes it after it expired on the database's clock.
      await waitUntil(async () => (await rows()).length === 0, 10_000);
      const { response } = await client.chat.completions.create(body).withResponse();

      expect(response.headers.get('x-cache')).toBe('MISS');
      expect(t.fake.requests).toHaveLength(2);
    });

    it('should hold at most RESPONSE_CACHE_MAX_ENTRIES, evicting the oldest', async () => {
      // A TTL long enough that only eviction, never expiry, can remove a row here.
      const small = sdk(
        await t.startApp({ env: { RESPONSE_CACHE_TTL_S: '300', RESPONSE_CACHE_MAX_ENTRIES: '3' } }),
      );
      for (const q of ['q1', 'q2', 'q3', 'q4', 'q5'])
        await small.chat.completions.create(ask(q, { temperature: 0 }));

      expect(await rows()).toEqual(['q3', 'q4', 'q5'].map((q) => `Echo: ${q} [messages=1]`));
    });
  });
});

/** 'aborted' when the SDK gave up because we aborted it; rethrows anything else. */
async function apiErrorOrAbort(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'finished';
  } catch (error) {
    if (error instanceof OpenAI.APIUserAbortError) return 'aborted';
    throw error;
  }
}
