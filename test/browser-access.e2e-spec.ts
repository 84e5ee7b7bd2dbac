import { SignJWT } from 'jose';
import OpenAI from 'openai';

import { CONVERSATIONS, withTestApp } from './utils/harness';
import { TestSocket } from './utils/ws-client';

const DEV_PAGE = 'http://localhost:5173';

/** A browser's preflight of a JSON POST from `origin`. */
const preflight = (
  t: { http: ReturnType<typeof withTestApp>['http'] },
  path: string,
  origin: string,
  headers = 'content-type',
) =>
  t.http
    .options(path)
    .set('Origin', origin)
    .set('Access-Control-Request-Method', 'POST')
    .set('Access-Control-Request-Headers', headers);

describe('CORS for browser pages (AUTH_MODE=none on loopback)', () => {
  const t = withTestApp({ env: { HOST: '127.0.0.1' }, logs: true });

  it('should answer preflights of dev-server pages with 204 on every route', async () => {
    for (const origin of [DEV_PAGE, 'http://127.0.0.1:8080', 'http://[::1]:3001'])
      for (const path of [
        CONVERSATIONS,
        `${CONVERSATIONS}/0193b4c2-7d1e-7c3a-9f6b-2f0f5e1d8a10/messages/stream`,
        '/v1/chat/completions',
        '/health',
        '/api/v1/no-such-route',
      ]) {
        const res = await preflight(t, path, origin);
        expect({ path, origin, status: res.status }).toEqual({ path, origin, status: 204 });
        expect(res.headers['access-control-allow-origin']).toBe(origin);
        expect(res.headers['access-control-allow-methods']).toContain('POST');
        expect(res.headers['access-control-allow-headers']).toBe('content-type');
        expect(res.headers.vary).toContain('Origin');
      }
  });

  it('should let the page read an actual response', async () => {
    const res = await t.http.post(CONVERSATIONS).set('Origin', DEV_PAGE).send({});
    expect(res.status).toBe(201);
    expect(res.headers['access-control-allow-origin']).toBe(DEV_PAGE);
  });

  it('should refuse other origins with 403 origin_not_allowed, logged once per origin', async () => {
    const evil = 'https://evil.example';
    const first = await preflight(t, CONVERSATIONS, evil);
    expect(first.status).toBe(403);
    expect(first.body).toMatchObject({ statusCode: 403, error: 'origin_not_allowed' });
    expect(first.body.message).toContain('CORS_ORIGINS');
    expect(first.headers['access-control-allow-origin']).toBeUndefined();
    // /v1 answers in OpenAI's shape, with the same code.
    const v1 = await preflight(t, '/v1/chat/completions', evil);
    expect(v1.status).toBe(403);
    expect(v1.body.error).toMatchObject({ code: 'origin_not_allowed' });
    const actual = await t.http.get(CONVERSATIONS).set('Origin', evil);
    expect(actual.status).toBe(200);
    expect(actual.headers['access-control-allow-origin']).toBeUndefined();

    await t.waitForLog((line) => String(line.msg).includes(evil));
    const told = t.logs.filter((line) => String(line.msg).includes(evil));
    expect(told).toHaveLength(1);
    expect(told[0]).toMatchObject({ level: 40 });
    expect(told[0].msg).toContain(`CORS_ORIGINS=${evil}`);
  });
});

describe('CORS when the service is reachable beyond this machine', () => {
  const t = withTestApp({
    env: { HOST: '0.0.0.0', CORS_ORIGINS: 'https://app.example.com' },
    logs: true,
  });

  it('should allow only CORS_ORIGINS, and say why a localhost page is refused', async () => {
    expect((await preflight(t, CONVERSATIONS, 'https://app.example.com')).status).toBe(204);
    const res = await preflight(t, CONVERSATIONS, DEV_PAGE);
    expect(res.status).toBe(403);
    const line = await t.waitForLog((l) => String(l.msg).includes(DEV_PAGE));
    expect(line.msg).toContain('HOST=127.0.0.1');
  });
});

describe('CORS for OpenAI clients in a browser', () => {
  const t = withTestApp({ env: { HOST: '127.0.0.1' } });

  it('should allow the headers the openai package sends, and no others', async () => {
    const sdkHeaders = [
      'authorization',
      'content-type',
      'x-stainless-arch',
      'x-stainless-lang',
      'x-stainless-os',
      'x-stainless-package-version',
      'x-stainless-retry-count',
      'x-stainless-runtime',
      'x-stainless-runtime-version',
      'x-stainless-timeout',
      'openai-organization',
      'openai-project',
      'openai-beta',
      'idempotency-key',
      'x-request-id',
    ];
    const res = await preflight(
      t,
      '/v1/chat/completions',
      DEV_PAGE,
      [...sdkHeaders, 'x-not-ours'].join(','),
    );
    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-headers'].split(',')).toEqual(sdkHeaders);
  });

  it('should expose the headers a client acts on', async () => {
    const res = await t.http.get(CONVERSATIONS).set('Origin', DEV_PAGE);
    const exposed = res.headers['access-control-expose-headers'].toLowerCase().split(', ');
    for (const name of [
      'content-disposition',
      'retry-after',
      'x-ratelimit-limit',
      'x-ratelimit-remaining',
      'x-ratelimit-reset',
      'x-cache',
      'x-correlation-id',
      'x-request-id',
    ])
      expect(exposed).toContain(name);
    // Every rate-limit header sent is one a page may read.
    const sent = Object.keys(res.headers).filter((name) => name.startsWith('x-ratelimit-'));
    expect(sent.length).toBeGreaterThan(0);
    for (const name of sent) expect(exposed).toContain(name);
  });
});

describe('X-Request-Id', () => {
  const t = withTestApp({ env: { LMSTUDIO_MODEL: 'fake-model' } });

  it('should carry the correlation id on REST answers, errors included', async () => {
    const ok = await t.http.get(CONVERSATIONS).set('X-Correlation-ID', 'trace-42');
    expect(ok.headers['x-request-id']).toBe('trace-42');
    expect(ok.headers['x-correlation-id']).toBe('trace-42');
    const missing = await t.http.get(`${CONVERSATIONS}/not-a-uuid`);
    expect(missing.status).toBe(400);
    expect(missing.headers['x-request-id']).toBe(missing.body.correlationId);
  });

  it('should give the openai SDK a requestID on /v1', async () => {
    const client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const { data, response, request_id } = await client.chat.completions
      .create({ model: 'lmstudio/default', messages: [{ role: 'user', content: 'Hi' }] })
      .withResponse();
    expect(request_id).toEqual(expect.any(String));
    expect(request_id).toBe(response.headers.get('x-correlation-id'));
    expect((data as { _request_id?: string | null })._request_id).toBe(request_id);
  });
});

const JWT_SECRET = 'browser-secret-that-is-long-enough-0123456789';

/** A short-lived HS256 token for AUTH_MODE=jwt. */
const tokenFor = (owner: string): Promise<string> =>
  new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(owner)
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(JWT_SECRET));

describe('?access_token= on GET streams and downloads', () => {
  const t = withTestApp({
    env: { AUTH_MODE: 'jwt', JWT_SECRET, LMSTUDIO_MODEL: 'fake-model' },
    fake: { tokenDelayMs: 150 },
    logs: true,
  });

  it('should authenticate an export download and an event stream by the query token', async () => {
    const token = await tokenFor('alice');
    const id = await t.createConversation(
      { title: 'Query token' },
      { Authorization: `Bearer ${token}` },
    );
    const download = await t.http.get(
      `${CONVERSATIONS}/${id}/export?format=markdown&access_token=${token}`,
    );
    expect(download.status).toBe(200);
    expect(download.headers['content-disposition']).toContain('attachment');

    const stream = await t.openStream(id, 'Hello', {
      headers: { Authorization: `Bearer ${token}` },
    });
    const resumed = await fetch(
      `${t.url}${CONVERSATIONS}/${id}/generation/events?access_token=${token}`,
    );
    expect(resumed.status).toBe(200);
    expect(resumed.headers.get('content-type')).toContain('text/event-stream');
    expect(await resumed.text()).toContain('event: message.completed');
    await stream.ended;
  });

  it('should refuse the query token elsewhere: other GETs, and POSTs', async () => {
    const token = await tokenFor('bob');
    const list = await t.http.get(`${CONVERSATIONS}?access_token=${token}`);
    expect(list.status).toBe(401);
    const post = await t.http.post(`${CONVERSATIONS}?access_token=${token}`).send({});
    expect(post.status).toBe(401);
    const wrong = await t.http.get(
      `${CONVERSATIONS}/0193b4c2-7d1e-7c3a-9f6b-2f0f5e1d8a10/export?access_token=nope`,
    );
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toBe('invalid_token');
  });

  it('should never log the query token', async () => {
    const token = await tokenFor('carol');
    const path = `${CONVERSATIONS}/0193b4c2-7d1e-7c3a-9f6b-2f0f5e1d8a10/export?access_token=${token}`;
    expect((await t.http.get(path)).status).toBe(404);
    const line = await t.waitForLog((l) =>
      String((l.req as { url?: string })?.url).includes('/export?'),
    );
    expect((line.req as { url: string }).url).toContain('access_token=***');
    expect(t.logText).not.toContain(token);
    // Nor the tokens of the streams and downloads above.
    expect(t.logText).not.toMatch(/access_token=eyJ/);
  });
});

describe('Error payloads over SSE and WebSocket', () => {
  // No provider listens: every turn fails with provider_unavailable.
  const t = withTestApp({ fake: false, env: { LLM_MAX_RETRIES: '0' } });
  const restFields = (correlationId: string) => ({
    statusCode: 503,
    error: 'provider_unavailable',
    code: 'provider_unavailable',
    message: expect.any(String),
    correlationId,
  });

  it("should carry the REST body's fields on an SSE error event", async () => {
    const id = await t.createConversation();
    const stream = await t.stream(id, 'Hello', { headers: { 'X-Correlation-ID': 'sse-1' } });
    const error = stream.events.find((event) => event.event === 'error')!;
    expect(JSON.parse(error.data)).toMatchObject(restFields('sse-1'));
  });

  it("should carry the REST body's fields on WebSocket errors, turn and request ones", async () => {
    const id = await t.createConversation();
    const socket = await TestSocket.open(t.url, { headers: { 'X-Correlation-ID': 'ws-7' } });
    socket.send({ type: 'message.send', conversationId: id, message: 'Hello' });
    const turnError = await socket.turnEnd(id);
    expect(turnError.type).toBe('error');
    expect(turnError.data).toMatchObject(restFields('ws-7'));

    socket.ws.send('not json');
    const refused = await socket.waitFor((m) => m.type === 'error' && !m.conversationId);
    expect(refused.data).toEqual({
      statusCode: 400,
      error: 'invalid_message',
      code: 'invalid_message',
      message: 'The message is not valid JSON',
      correlationId: 'ws-7',
    });
    await socket.close();
  });
});

describe('GET /api/v1/auth/me', () => {
  describe('with AUTH_MODE=none', () => {
    const t = withTestApp();

    it('should answer the local owner', async () => {
      const res = await t.http.get('/api/v1/auth/me');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ owner: 'local', authMode: 'none' });
    });
  });

  describe('with AUTH_MODE=local', () => {
    const t = withTestApp({
      env: { AUTH_MODE: 'local', LOCAL_JWT_SECRET: JWT_SECRET, TRUST_PROXY: 'loopback' },
    });

    it('should answer the signed-in user, and 401 without a token', async () => {
      const password = 'correct horse battery staple';
      const created = await t.http
        .post('/api/v1/auth/register')
        .send({ username: 'alice', password });
      const signedIn = await t.http
        .post('/api/v1/auth/token')
        .send({ username: 'alice', password });
      const res = await t.http
        .get('/api/v1/auth/me')
        .set('Authorization', `Bearer ${signedIn.body.access_token}`);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ owner: created.body.id, username: 'alice', authMode: 'local' });
      const anonymous = await t.http.get('/api/v1/auth/me');
      expect(anonymous.status).toBe(401);
      expect(anonymous.body.error).toBe('missing_credentials');
    });
  });
});
