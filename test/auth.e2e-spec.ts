import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { exportJWK, generateKeyPair, JWK, KeyLike, SignJWT } from 'jose';

import { generateApiKey, hashApiKey } from '../src/auth/api-keys';
import { ConfigError, loadEnv } from '../src/config/env';
import { CONVERSATIONS as BASE, withTestApp } from './utils/harness';

const SECRET = 'test-secret-that-is-long-enough-0123456789';

function hs256(
  sub: string,
  opts: { secret?: string; exp?: string; aud?: string } = {},
): Promise<string> {
  let jwt = new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime(opts.exp ?? '1h');
  if (opts.aud) jwt = jwt.setAudience(opts.aud);
  return jwt.sign(new TextEncoder().encode(opts.secret ?? SECRET));
}

describe('Authentication and isolation', () => {
  describe('AUTH_MODE=jwt with JWT_SECRET', () => {
    const t = withTestApp({
      logs: true,
      env: {
        LMSTUDIO_MODEL: 'fake-model',
        AUTH_MODE: 'jwt',
        JWT_SECRET: SECRET,
        JWT_AUDIENCE: 'chat-api',
      },
    });

    const as = async (sub: string) => ({
      Authorization: `Bearer ${await hs256(sub, { aud: 'chat-api' })}`,
    });

    it('should refuse missing, malformed, expired, forged and wrong-audience tokens with 401 and a clear code', async () => {
      const cases: [Record<string, string>, string][] = [
        [{}, 'missing_credentials'],
        [{ Authorization: 'Basic abc' }, 'missing_credentials'],
        [{ Authorization: 'Bearer not.a.jwt' }, 'invalid_token'],
        [
          { Authorization: `Bearer ${await hs256('alice', { aud: 'chat-api', exp: '-1m' })}` },
          'token_expired',
        ],
        [
          {
            Authorization: `Bearer ${await hs256('alice', { aud: 'chat-api', secret: 'x'.repeat(40) })}`,
          },
          'invalid_token',
        ],
        [
          { Authorization: `Bearer ${await hs256('alice', { aud: 'other-api' })}` },
          'invalid_token',
        ],
      ];
      for (const [headers, code] of cases) {
        const res = await t.http.get(BASE).set(headers).expect(401);
        expect(res.body).toMatchObject({ statusCode: 401, error: code });
        expect(res.headers['www-authenticate']).toContain('Bearer');
      }
    });

    it('should keep health, metrics and docs public', async () => {
      await t.http.get('/health').expect(200);
      await t.http.get('/metrics').expect(200);
      await t.http.get('/docs-json').expect(200);
    });

    it("should answer 404 on every endpoint for another owner's conversation", async () => {
      const alice = await as('alice');
      const bob = await as('bob');
      const id = await t.createConversation({ title: 'secret plans' }, alice);
      const turn = await t.send(id, 'hello', { headers: alice });
      const replyId = (turn.body as { assistantMessage: { id: string } }).assistantMessage.id;

      const attempts = [
        t.http.get(`${BASE}/${id}`).set(bob),
        t.http.patch(`${BASE}/${id}`).set(bob).send({ title: 'mine now' }),
        t.http.delete(`${BASE}/${id}`).set(bob),
        t.http.get(`${BASE}/${id}/messages`).set(bob),
        t.http.post(`${BASE}/${id}/messages`).set(bob).send({ message: 'let me in' }),
        t.http.post(`${BASE}/${id}/messages/stream`).set(bob).send({ message: 'let me in' }),
        t.http.get(`${BASE}/${id}/generation`).set(bob),
        t.http.post(`${BASE}/${id}/cancel`).set(bob),
        t.http.get(`${BASE}/${id}/context`).set(bob),
        t.http.delete(`${BASE}/${id}/context`).set(bob),
        t.http.get(`${BASE}/${id}/messages/${replyId}/context`).set(bob),
      ];
      for (const res of await Promise.all(attempts)) {
        expect(res.status).toBe(404);
        expect(res.body.error).toBe('conversation_not_found');
      }
      const bobsList = await t.http.get(BASE).set(bob).expect(200);
      expect(bobsList.body.data).toEqual([]);
      const stored = await t.http.get(`${BASE}/${id}`).set(alice).expect(200);
      expect(stored.body.title).toBe('secret plans');
      expect(await t.prisma.message.count({ where: { conversationId: id } })).toBe(2);
    });

    it('should never write tokens into logs or responses', async () => {
      const headers = await as('carol');
      const res = await t.http.post(BASE).set(headers).send({}).expect(201);
      const token = headers.Authorization.slice('Bearer '.length);
      // The request's line is written once the response has finished.
      await t.waitForLog((line) => line.correlationId === res.headers['x-correlation-id']);
      expect(t.logText).not.toContain(token);
      expect(JSON.stringify(res.body)).not.toContain(token);
      expect(t.logText).not.toContain(SECRET);
    });
  });

  describe('AUTH_MODE=jwt with JWT_JWKS_URL', () => {
    let jwksServer: http.Server;
    let current: JWK[] = [];
    const keys: Record<string, KeyLike> = {};

    beforeAll(async () => {
      for (const kid of ['k1', 'k2']) {
        const { privateKey, publicKey } = await generateKeyPair('RS256');
        keys[kid] = privateKey;
        keys[`${kid}-public`] = publicKey;
      }
      jwksServer = http.createServer((_req, res) => {
        res.setHeader('Content-Type', 'application/json');
        res.end(JSON.stringify({ keys: current }));
      });
      await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
    });
    afterAll(() => new Promise((resolve) => jwksServer.close(resolve)));

    const publish = async (kid: string) => {
      current = [{ ...(await exportJWK(keys[`${kid}-public`])), kid, alg: 'RS256', use: 'sig' }];
    };
    const rs256 = (kid: string, sub: string) =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'RS256', kid })
        .setSubject(sub)
        .setExpirationTime('1h')
        .sign(keys[kid]);

    const t = withTestApp({
      fake: false,
      env: () => ({
        AUTH_MODE: 'jwt',
        JWT_JWKS_URL: `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/.well-known/jwks.json`,
        JWT_JWKS_COOLDOWN_MS: '0',
      }),
    });

    it('should verify tokens against the JWKS and follow a key rotation', async () => {
      await publish('k1');
      await t.http
        .get(BASE)
        .set('Authorization', `Bearer ${await rs256('k1', 'dave')}`)
        .expect(200);
      await publish('k2');
      await t.http
        .get(BASE)
        .set('Authorization', `Bearer ${await rs256('k2', 'dave')}`)
        .expect(200);
      const old = await t.http
        .get(BASE)
        .set('Authorization', `Bearer ${await rs256('k1', 'dave')}`)
        .expect(401);
      expect(old.body.error).toBe('invalid_token');
      const hs = await t.http
        .get(BASE)
        .set('Authorization', `Bearer ${await hs256('dave')}`)
        .expect(401);
      expect(hs.body.error).toBe('invalid_token');
    });
  });

  describe('AUTH_MODE=api-key', () => {
    const [k1, k2] = [generateApiKey(), generateApiKey()];
    const t = withTestApp({
      fake: false,
      logs: true,
      env: {
        AUTH_MODE: 'api-key',
        API_KEYS: `svc-a:${hashApiKey(k1).toString('hex')},svc-b:${hashApiKey(k2).toString('hex')}`,
      },
    });

    it('should map hashed keys to owners and isolate them', async () => {
      expect((await t.http.get(BASE).expect(401)).body.error).toBe('missing_credentials');
      expect((await t.http.get(BASE).set('X-API-Key', 'cbk_wrong').expect(401)).body.error).toBe(
        'invalid_api_key',
      );
      const id = await t.createConversation({}, { 'X-API-Key': k1 });
      await t.http.get(`${BASE}/${id}`).set('X-API-Key', k1).expect(200);
      const last = await t.http.get(`${BASE}/${id}`).set('X-API-Key', k2).expect(404);
      await t.waitForLog((line) => line.correlationId === last.headers['x-correlation-id']);
      expect(t.logText).not.toContain(k1);
      expect(t.logText).not.toContain(k2);
    });
  });

  describe('configuration', () => {
    it('should refuse to start in jwt mode without a key source, naming the variable but not secrets', () => {
      expect(() => loadEnv({ AUTH_MODE: 'jwt' })).toThrow(/JWT_SECRET/);
      expect(() => loadEnv({ AUTH_MODE: 'jwt', JWT_SECRET: 'short-secret' })).toThrow(ConfigError);
      try {
        loadEnv({ AUTH_MODE: 'jwt', JWT_SECRET: 'short-secret' });
      } catch (error) {
        expect(String(error)).not.toContain('short-secret');
      }
      expect(() => loadEnv({ AUTH_MODE: 'api-key' })).toThrow(/API_KEYS/);
      expect(() => loadEnv({ AUTH_MODE: 'api-key', API_KEYS: 'alice:plaintext' })).toThrow(
        /API_KEYS/,
      );
    });
  });
});

describe('Limits and hardening', () => {
  describe('RATE_LIMIT_PER_MINUTE', () => {
    const t = withTestApp({ fake: false, env: { RATE_LIMIT_PER_MINUTE: '3' } });

    it('should answer 429 rate_limited with Retry-After and rate-limit headers past the per-minute limit', async () => {
      for (let i = 0; i < 3; i++) {
        const ok = await t.http.get(BASE).expect(200);
        expect(ok.headers['x-ratelimit-limit']).toBe('3');
        expect(ok.headers['x-ratelimit-remaining']).toBe(String(2 - i));
      }
      const limited = await t.http.get(BASE).expect(429);
      expect(limited.body.error).toBe('rate_limited');
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      // Probes skip the limiter: never refused, never counted.
      const health = await t.http.get('/health').expect(200);
      expect(health.headers['x-ratelimit-limit']).toBeUndefined();
    });
  });

  describe('MAX_CONCURRENT_GENERATIONS_PER_OWNER', () => {
    const t = withTestApp({
      env: { LMSTUDIO_MODEL: 'fake-model', MAX_CONCURRENT_GENERATIONS_PER_OWNER: '1' },
    });

    it('should cap concurrent replies per owner with 429 too_many_generations', async () => {
      let release!: () => void;
      const until = new Promise<void>((resolve) => (release = resolve));
      t.fake.script({ kind: 'held', until });
      const [a, b] = await Promise.all([t.createConversation(), t.createConversation()]);
      // The reply that got through is held at the provider until the other has its answer.
      const turn = (id: string, message: string) =>
        t.http
          .post(`${BASE}/${id}/messages`)
          .send({ message })
          .then((res) => {
            if (res.status !== 201) release();
            return res;
          });
      const results = await Promise.all([turn(a, 'one'), turn(b, 'two')]);
      expect(results.map((r) => r.status).sort()).toEqual([201, 429]);
      const limited = results.find((r) => r.status === 429)!;
      expect(limited.body.error).toBe('too_many_generations');
      expect(limited.headers['retry-after']).toBeDefined();
      await t.send(b, 'now');
    });
  });

  describe('MAX_CONVERSATIONS_PER_OWNER', () => {
    const t = withTestApp({ fake: false, env: { MAX_CONVERSATIONS_PER_OWNER: '2' } });

    it('should cap conversations per owner with 409 conversation_limit_reached', async () => {
      await t.http.post(BASE).send({}).expect(201);
      await t.http.post(BASE).send({}).expect(201);
      expect((await t.http.post(BASE).send({}).expect(409)).body.error).toBe(
        'conversation_limit_reached',
      );
    });
  });

  describe('CORS_ORIGINS', () => {
    const t = withTestApp({ fake: false, env: { CORS_ORIGINS: 'https://app.example.com' } });

    it('should allow CORS preflight from configured origins only, and send security headers', async () => {
      const allowed = await t.http
        .options(BASE)
        .set('Origin', 'https://app.example.com')
        .set('Access-Control-Request-Method', 'POST')
        .set('Access-Control-Request-Headers', 'content-type,idempotency-key');
      expect(allowed.status).toBe(204);
      expect(allowed.headers['access-control-allow-origin']).toBe('https://app.example.com');
      expect(allowed.headers['access-control-allow-headers']).toMatch(/Idempotency-Key/i);

      const refused = await t.http
        .options(BASE)
        .set('Origin', 'https://evil.example.net')
        .set('Access-Control-Request-Method', 'POST');
      expect(refused.headers['access-control-allow-origin']).toBeUndefined();

      const res = await t.http.get(BASE).expect(200);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['content-security-policy']).toContain("default-src 'self'");
      expect(res.headers['x-powered-by']).toBeUndefined();
    });
  });
});
