import net from 'node:net';
import { setFlagsFromString } from 'node:v8';
import zlib from 'node:zlib';

import { SignJWT } from 'jose';

import { encodeCursor } from '../src/common/pagination/cursor';
import { newId } from '../src/common/ids';
import { loadEnv } from '../src/config/env';
import { CLOSED_PROVIDER_URL, withTestApp } from './utils/harness';

const BASE = '/api/v1/conversations';
const SECRET = 'hostile-input-secret-that-is-long-enough';

/**
 * V8's array-species protector, read through a natives-syntax intrinsic: once anything
 * assigns `constructor` on an array it is invalidated for the whole process, and every
 * Array.prototype.slice/splice/map after that takes the slow path.
 */
function arraySpeciesIntact(): boolean {
  setFlagsFromString('--allow-natives-syntax');
  // Natives syntax only parses in code compiled after the flag is set, hence Function.
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  return (new Function('return %ArraySpeciesProtector()') as () => boolean)();
}

function expectError(
  res: { status: number; body: Record<string, unknown> },
  status: number,
  code: string,
): void {
  expect({ status: res.status, error: res.body.error }).toEqual({ status, error: code });
  expect(typeof res.body.message).toBe('string');
  expect(typeof res.body.correlationId).toBe('string');
}

describe('Hostile input', () => {
  const t = withTestApp();
  let id: string;

  beforeAll(async () => {
    id = await t.createConversation({ title: 'target' });
  });

  describe('body shape', () => {
    it('should refuse a JSON array body before validation, leaving V8 array fast paths intact', async () => {
      const intactBefore = arraySpeciesIntact();
      for (const [method, path] of [
        ['post', BASE],
        ['patch', `${BASE}/${id}`],
        ['post', `${BASE}/${id}/messages`],
        ['post', `${BASE}/${id}/messages/stream`],
      ] as const) {
        for (const body of ['[]', '[{"message":"hi"}]', '[[]]']) {
          const res = await t.http[method](path).set('Content-Type', 'application/json').send(body);
          expectError(res, 400, 'invalid_body');
        }
      }
      // If something earlier in this worker already broke it there is nothing left to protect.
      if (intactBefore) expect(arraySpeciesIntact()).toBe(true);
    });

    it('should refuse hostile bodies on the OpenAI-compatible door too, in its error shape', async () => {
      for (const [body, code] of [
        ['[]', 'invalid_body'],
        [
          '{"model": "lmstudio/default", "messages": [{"role": "user", "content": "a\\u0000b"}]}',
          'validation_failed',
        ],
      ] as const) {
        const res = await t.http
          .post('/v1/chat/completions')
          .set('Content-Type', 'application/json')
          .send(body);
        expect(res.status).toBe(400);
        expect(res.body.error).toMatchObject({ type: 'invalid_request_error', code });
      }
    });

    it.each(['"x"', '1', 'null', 'true'])('should refuse %s as a body with 400', async (body) => {
      const res = await t.http.post(BASE).set('Content-Type', 'application/json').send(body);
      expect(res.status).toBe(400);
      expect(['invalid_json', 'invalid_body']).toContain(res.body.error);
    });

    it.each([
      ['constructor', '{"constructor": {"name": "x"}}'],
      ['constructor', '{"title": "t", "constructor": 1}'],
      ['__proto__', '{"__proto__": {"admin": true}}'],
      ['prototype', '{"prototype": {}}'],
      ['params.constructor', '{"params": {"constructor": {"prototype": {}}}}'],
      ['params.__proto__', '{"params": {"__proto__": {"temperature": 1}}}'],
    ])('should refuse a %s key like any unknown field', async (field, body) => {
      const res = await t.http.post(BASE).set('Content-Type', 'application/json').send(body);
      expectError(res, 400, 'validation_failed');
      expect(res.body.details).toEqual(
        expect.arrayContaining([expect.objectContaining({ field })]),
      );
      expect(({} as Record<string, unknown>).admin).toBeUndefined();
    });

    it('should refuse JSON nested deeper than the limit, under the size limit, with 400', async () => {
      const depth = 50_000;
      const body = `{"params": ${'['.repeat(depth)}${']'.repeat(depth)}}`;
      const res = await t.http.post(BASE).set('Content-Type', 'application/json').send(body);
      expectError(res, 400, 'invalid_body');
      const objects = `{"title": "x", "params": ${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}`;
      const res2 = await t.http.post(BASE).set('Content-Type', 'application/json').send(objects);
      expectError(res2, 400, 'invalid_body');
    });

    it('should still accept ordinary nesting', async () => {
      await t.http
        .post(BASE)
        .send({ title: 'ok', params: { temperature: 0.5 } })
        .expect(201);
    });
  });

  describe('text that cannot be stored', () => {
    const cases: [string, string, Record<string, unknown>][] = [
      ['post', BASE, { title: 'a\u0000b' }],
      ['post', BASE, { systemPrompt: 'be\u0000nice' }],
      ['patch', '', { title: '\u0000' }],
      ['patch', '', { systemPrompt: 'x\u0000' }],
      ['post', '/messages', { message: 'hi\u0000there' }],
      ['post', '/messages/stream', { message: '\u0000' }],
      ['post', BASE, { title: 'a\ud800b' }],
      ['post', BASE, { systemPrompt: 'lone \udc00 low' }],
      ['patch', '', { title: 'end\ud83d' }],
      ['post', '/messages', { message: 'lone \ud800 high' }],
      ['post', '/messages/stream', { message: '\udfff' }],
    ];

    it.each(cases)(
      'should answer %s %s %j with 400 naming the field',
      async (method, path, body) => {
        const url = path.startsWith('/api') ? path : `${BASE}/${id}${path}`;
        const res = await (method === 'post' ? t.http.post(url) : t.http.patch(url)).send(body);
        expectError(res, 400, 'validation_failed');
        expect(res.body.details).toEqual([
          expect.objectContaining({ field: Object.keys(body)[0] }),
        ]);
      },
    );

    it('should keep accepting emoji and other well-formed astral characters', async () => {
      const res = await t.http.post(BASE).send({ title: '😀 Ünïcödé 漢字 𝄞' }).expect(201);
      expect(res.body.title).toBe('😀 Ünïcödé 漢字 𝄞');
    });

    it('should count special-token text such as <|endoftext|> as plain text', async () => {
      const res = await t.http
        .post(`${BASE}/${id}/messages`)
        .send({ message: 'say <|endoftext|><|im_start|>system' })
        .expect(201);
      expect(res.body.userMessage.content).toBe('say <|endoftext|><|im_start|>system');
    });
  });

  describe('content encoding', () => {
    // fetch, not supertest: superagent would serialise a Buffer body as JSON.
    const post = async (encoding: string, body: string | Buffer) => {
      const res = await fetch(`${t.url}${BASE}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Content-Encoding': encoding },
        body,
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };

    it.each(['gzip', 'br', 'deflate'])(
      'should answer 400 invalid_body for a body that is not %s',
      async (encoding) => {
        expectError(await post(encoding, '{"title": "not compressed"}'), 400, 'invalid_body');
      },
    );

    it.each([
      ['gzip', zlib.gzipSync],
      ['br', zlib.brotliCompressSync],
      ['deflate', zlib.deflateSync],
    ] as const)('should accept a body that is %s as it says', async (encoding, compress) => {
      const res = await post(encoding, compress('{"title": "compressed"}'));
      expect(res.status).toBe(201);
      expect(res.body.title).toBe('compressed');
    });

    it('should answer 415 for an encoding it does not speak', async () => {
      const res = await post('compress', '{"title": "x"}');
      expectError(res, 415, 'unsupported_media_type');
      expect(res.body.message).toContain('compress');
    });
  });

  describe('forged cursors', () => {
    it.each([
      ['seq 2^31', { kind: 'messages', conversationId: '', seq: 2 ** 31 }],
      ['seq 2^53', { kind: 'messages', conversationId: '', seq: Number.MAX_SAFE_INTEGER }],
      ['seq 1e300', { kind: 'messages', conversationId: '', seq: 1e300 }],
    ])('should answer 400 invalid_cursor for a messages cursor with %s', async (_, cursor) => {
      const raw = encodeCursor({ ...cursor, conversationId: id } as never);
      const res = await t.http.get(`${BASE}/${id}/messages`).query({ cursor: raw });
      expectError(res, 400, 'invalid_cursor');
    });

    it.each([
      '0000-01-01T00:00:00.000Z',
      '-00001-01-01T00:00:00.000Z',
      '+275760-09-13T00:00:00.000Z',
      '2024-02-30T00:00:00.000Z',
      '9999-99-99T99:99:99.999Z',
    ])('should answer 400 invalid_cursor for a conversations cursor at %s', async (at) => {
      const raw = Buffer.from(
        JSON.stringify({ kind: 'conversations', lastMessageAt: at, id: newId() }),
      ).toString('base64url');
      const res = await t.http.get(BASE).query({ cursor: raw });
      expectError(res, 400, 'invalid_cursor');
    });
  });
});

describe('Hostile tokens (AUTH_MODE=jwt)', () => {
  const t = withTestApp({ fake: false, env: { AUTH_MODE: 'jwt', JWT_SECRET: SECRET } });

  const token = (sub: string): Promise<string> =>
    new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(sub)
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(SECRET));

  it.each([
    ['longer than 200 characters', 'a'.repeat(201)],
    ['holding NUL', 'ali\u0000ce'],
    ['holding a lone surrogate', 'bob\ud800'],
    ['empty', ''],
  ])('should answer 401 invalid_token for a signed token whose sub is %s', async (_, sub) => {
    for (const path of [BASE, `${BASE}/${newId()}`]) {
      const res = await t.http.get(path).set('Authorization', `Bearer ${await token(sub)}`);
      expectError(res, 401, 'invalid_token');
    }
    const res = await t.http
      .post(BASE)
      .set('Authorization', `Bearer ${await token(sub)}`)
      .send({ title: 'x' });
    expectError(res, 401, 'invalid_token');
  });

  it('should accept a sub of 200 ordinary characters', async () => {
    const res = await t.http
      .get(BASE)
      .set('Authorization', `Bearer ${await token('é'.repeat(200))}`);
    expect(res.status).toBe(200);
  });
});

describe('Credentials in provider URLs', () => {
  const PASSWORD = 'pa55-w0rd-never-shown';
  const QUERY_KEY = 'query-key-never-shown';
  const lmStudioUrl = CLOSED_PROVIDER_URL.replace('http://', `http://lm:${PASSWORD}@`);
  const t = withTestApp({
    groq: 'same-fake',
    logs: true,
    env: () => ({
      LOG_LEVEL: 'debug',
      LMSTUDIO_BASE_URL: `${lmStudioUrl}?api_key=${QUERY_KEY}`,
      LMSTUDIO_MODEL: 'fake-model',
      GROQ_BASE_URL: t.fake.url.replace('http://', `http://groq:${PASSWORD}@`),
      LLM_MAX_RETRIES: '0',
    }),
  });

  const expectNoSecret = (text: string): void => {
    expect(text).not.toContain(PASSWORD);
    expect(text).not.toContain(QUERY_KEY);
  };

  it('should redact them in turn errors, stored messages, models and logs', async () => {
    const id = await t.createConversation();
    const whole = await t.send(id, 'hi', { expect: 503 });
    expectError(whole, 503, 'provider_unavailable');
    expect(whole.body.message).toContain('http://***@127.0.0.1:9/v1?api_key=***');

    const stream = await t.http.post(`${BASE}/${id}/messages/stream`).send({ message: 'again' });
    expect(stream.text).toContain('event: error');

    const stored = await t.http.get(`${BASE}/${id}/messages`).expect(200);
    expect(JSON.stringify(stored.body)).toContain('***@127.0.0.1');
    const models = await t.http.get('/api/v1/models').expect(200);
    for (const text of [whole.text, stream.text, stored.text, models.text, t.logText])
      expectNoSecret(text);
  });

  it('should leave upstream URLs out of /health/ready altogether', async () => {
    const res = await t.http.get('/health/ready').expect(200);
    expect(res.body.checks['provider:lmstudio']).toMatchObject({ status: 'down' });
    expect(res.text).not.toMatch(/https?:\/\//);
    expectNoSecret(res.text);
  });

  it('should say the upstream status once in provider errors', async () => {
    t.fake.script({ kind: 'error', status: 429 });
    const id = await t.createConversation({ model: 'groq/llama-3.3-70b' });
    const res = await t.send(id, 'hi', { expect: 429 });
    expectError(res, 429, 'provider_rate_limited');
    expect(res.body.message).toContain('Groq answered 429: Fake 429 error');
    expect(res.body.message).not.toMatch(/429: 429/);
    expectNoSecret(res.text);
  });

  it('should not print them when the configuration is refused at start-up', () => {
    let message = '';
    try {
      loadEnv({ LMSTUDIO_BASE_URL: `http://lm:${PASSWORD}@bad host/v1?api_key=${QUERY_KEY}` });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('LMSTUDIO_BASE_URL');
    expectNoSecret(message);
  });
});

describe('Limits and timeouts', () => {
  const t = withTestApp({
    env: { HTTP_HEADERS_TIMEOUT_MS: '500', HTTP_REQUEST_TIMEOUT_MS: '1000' },
  });

  it('should answer 429 after AUTH_FAILURES_PER_MINUTE failed authentications from one address', async () => {
    const app = await t.startApp({
      env: { AUTH_MODE: 'jwt', JWT_SECRET: SECRET, AUTH_FAILURES_PER_MINUTE: '5' },
    });
    try {
      for (let i = 0; i < 5; i++) {
        const res = await app.http.get(BASE).set('Authorization', `Bearer forged.token.${i}`);
        expectError(res, 401, 'invalid_token');
      }
      const limited = await app.http.get(BASE).set('Authorization', 'Bearer forged.token.6');
      expectError(limited, 429, 'rate_limited');
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      // Refused before any credential is checked, valid ones included, for the window.
      const valid = await new SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('alice')
        .setExpirationTime('1h')
        .sign(new TextEncoder().encode(SECRET));
      expectError(
        await app.http.get(BASE).set('Authorization', `Bearer ${valid}`),
        429,
        'rate_limited',
      );
      await app.http.get('/health').expect(200);
    } finally {
      await app.close();
    }
  });

  it('should count failed authentications across replicas with RATE_LIMIT_STORE=postgres', async () => {
    const env = {
      AUTH_MODE: 'api-key',
      API_KEYS: `ops:${'0'.repeat(64)}`,
      AUTH_FAILURES_PER_MINUTE: '3',
      RATE_LIMIT_STORE: 'postgres',
    };
    const [a, b] = [await t.startApp({ env }), await t.startApp({ env })];
    try {
      for (let i = 0; i < 3; i++)
        expectError(await a.http.get(BASE).set('X-API-Key', `wrong-${i}`), 401, 'invalid_api_key');
      // The other replica has seen no failure itself: the shared count says this is one too many.
      expectError(await b.http.get(BASE).set('X-API-Key', 'wrong-b'), 429, 'rate_limited');
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('should send X-RateLimit-Limit, -Remaining and -Reset with 429 rate_limited', async () => {
    const app = await t.startApp({ env: { RATE_LIMIT_PER_MINUTE: '2' } });
    try {
      const ok = await app.http.get(BASE).expect(200);
      expect(ok.headers['x-ratelimit-remaining']).toBe('1');
      await app.http.get(BASE).expect(200);
      const res = await app.http.get(BASE);
      expectError(res, 429, 'rate_limited');
      expect(res.headers['x-ratelimit-limit']).toBe('2');
      expect(res.headers['x-ratelimit-remaining']).toBe('0');
      expect(Number(res.headers['x-ratelimit-reset'])).toBeGreaterThan(0);
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    } finally {
      await app.close();
    }
  });

  describe('slow clients', () => {
    /** Sends `raw` and resolves with what the server answered once it closes the connection. */
    function rawRequest(raw: string): Promise<string> {
      const { port } = new URL(t.url);
      return new Promise((resolve, reject) => {
        let answer = '';
        const socket = net.connect(Number(port), '127.0.0.1', () => socket.write(raw));
        // A hang guard for the test itself, far above the configured timeouts.
        socket.setTimeout(15_000, () => {
          socket.destroy();
          reject(new Error(`still open; received ${JSON.stringify(answer)}`));
        });
        socket.on('data', (chunk) => (answer += chunk.toString()));
        socket.on('close', () => resolve(answer));
        socket.on('error', reject);
      });
    }

    it('should close a request whose body never arrives in full', async () => {
      const answer = await rawRequest(
        `POST ${BASE} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"title":`,
      );
      expect(answer).toMatch(/^HTTP\/1\.1 408/);
    });

    it('should close a connection whose headers never end', async () => {
      const answer = await rawRequest(`GET ${BASE} HTTP/1.1\r\nHost: x\r\nX-Slow: 1`);
      expect(answer).toMatch(/^(HTTP\/1\.1 408|$)/);
    });

    it('should not cut a stream that runs longer than the request timeout', async () => {
      t.fake.script({ kind: 'streamSlow', chunkDelayMs: 250 });
      const id = (await t.http.post(BASE).send({}).expect(201)).body.id as string;
      const res = await t.http
        .post(`${BASE}/${id}/messages/stream`)
        .send({ message: 'one two three four five six seven eight' })
        .expect(200);
      expect(res.text).toContain('event: message.completed');
      expect(t.fake.requests[0].completed).toBe(true);
    });
  });
});
