import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { SignJWT } from 'jose';
import OpenAI from 'openai';
import type { Response } from 'supertest';

import { ConfigError, loadEnv } from '../src/config/env';
import { AppClient, CONVERSATIONS, withTestApp } from './utils/harness';
import { TestSocket } from './utils/ws-client';

const SECRET = 'local-secret-that-is-long-enough-0123456789';
const AUTH = '/api/v1/auth';
const PASSWORD = 'correct horse battery staple';

interface Tokens {
  access_token: string;
  token_type: string;
  expires_in: number;
  refresh_token: string;
}

/** Each test signs in from its own address (TRUST_PROXY=loopback), so IP limits stay apart. */
let nextAddress = 1;
const freshAddress = (): string => `198.51.100.${nextAddress++}`;

const bearer = (tokens: Tokens) => ({ Authorization: `Bearer ${tokens.access_token}` });

async function register(app: AppClient, username: string, password = PASSWORD): Promise<string> {
  const res = await app.http.post(`${AUTH}/register`).send({ username, password });
  expect(res.status).toBe(201);
  return (res.body as { id: string }).id;
}

function signIn(
  app: AppClient,
  username: string,
  password = PASSWORD,
  ip = freshAddress(),
): Promise<Response> {
  return app.http.post(`${AUTH}/token`).set('X-Forwarded-For', ip).send({ username, password });
}

async function tokensOf(app: AppClient, username: string): Promise<Tokens> {
  const res = await signIn(app, username);
  expect(res.status).toBe(200);
  return res.body as Tokens;
}

/** The error body without its per-request correlation id. */
const errorOf = (res: Response) => {
  const { correlationId, ...rest } = res.body as Record<string, unknown>;
  expect(correlationId).toEqual(expect.any(String));
  return rest;
};

describe('Built-in users (AUTH_MODE=local)', () => {
  const t = withTestApp({
    env: {
      LMSTUDIO_MODEL: 'fake-model',
      AUTH_MODE: 'local',
      LOCAL_JWT_SECRET: SECRET,
      TRUST_PROXY: 'loopback',
      LOGIN_FAILURES_PER_ACCOUNT: '3',
      LOGIN_FAILURES_PER_IP: '5',
      // These specs register from one address; registration-limit.e2e-spec tests the limit.
      REGISTRATIONS_PER_HOUR_PER_ADDRESS: '1000',
    },
  });

  it('should register, sign in, use the access token, and list only what the user owns', async () => {
    const res = await t.http
      .post(`${AUTH}/register`)
      .send({ username: 'alice', password: PASSWORD });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.any(String),
      username: 'alice',
      createdAt: expect.any(String),
    });
    expect(JSON.stringify(res.body)).not.toContain(PASSWORD);

    const signedIn = await signIn(t, 'alice');
    expect(signedIn.status).toBe(200);
    expect(signedIn.headers['cache-control']).toBe('no-store');
    const tokens = signedIn.body as Tokens;
    expect(tokens).toEqual({
      access_token: expect.stringMatching(/^ey/),
      token_type: 'bearer',
      expires_in: 900,
      refresh_token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
    });

    const id = await t.createConversation({ title: 'mine' }, bearer(tokens));
    const reply = await t.send(id, 'hello', { headers: bearer(tokens) });
    expect(reply.body.response).toContain('hello');
    const list = await t.http.get(CONVERSATIONS).set(bearer(tokens)).expect(200);
    expect(list.body.data.map((c: { id: string }) => c.id)).toEqual([id]);
    // The token's sub is the user id: the conversation belongs to it.
    const row = await t.prisma.conversation.findUniqueOrThrow({ where: { id } });
    expect(row.ownerId).toBe(res.body.id);
    // Stored hashed with argon2id, never in clear.
    const user = await t.prisma.user.findUniqueOrThrow({ where: { id: res.body.id } });
    expect(user.passwordHash).toMatch(/^\$argon2id\$/);
  });

  it('should answer 404 for another user’s conversation, exactly as for an unknown one', async () => {
    await register(t, 'owner-a');
    await register(t, 'owner-b');
    const a = await tokensOf(t, 'owner-a');
    const b = await tokensOf(t, 'owner-b');
    const id = await t.createConversation({ title: 'private' }, bearer(a));
    const theirs = await t.http.get(`${CONVERSATIONS}/${id}`).set(bearer(b)).expect(404);
    const unknown = await t.http
      .get(`${CONVERSATIONS}/01936f3e-0000-7000-8000-000000000000`)
      .set(bearer(b))
      .expect(404);
    expect(theirs.body.error).toBe(unknown.body.error);
    const list = await t.http.get(CONVERSATIONS).set(bearer(b)).expect(200);
    expect(list.body.data).toEqual([]);
  });

  it('should refuse a second account whose name differs only in case, and sign in whatever the case', async () => {
    await register(t, 'Carol');
    const res = await t.http
      .post(`${AUTH}/register`)
      .send({ username: 'cAROL', password: 'another password' });
    expect(res.status).toBe(409);
    expect(errorOf(res)).toEqual({
      statusCode: 409,
      error: 'username_taken',
      message: expect.stringContaining('cAROL'),
    });
    expect((await signIn(t, 'CAROL')).status).toBe(200);
  });

  it('should sign in with the OAuth2 password form, and refuse forms everywhere else', async () => {
    await register(t, 'formuser');
    const res = await t.http
      .post(`${AUTH}/token`)
      .set('X-Forwarded-For', freshAddress())
      .type('form')
      .send({ grant_type: 'password', username: 'formuser', password: PASSWORD, scope: '' });
    expect(res.status).toBe(200);
    expect(res.body.token_type).toBe('bearer');
    await t.http
      .get(CONVERSATIONS)
      .set(bearer(res.body as Tokens))
      .expect(200);

    const refreshGrant = await t.http
      .post(`${AUTH}/token`)
      .type('form')
      .send({ grant_type: 'refresh_token', username: 'formuser', password: PASSWORD });
    expect(refreshGrant.status).toBe(400);
    expect(refreshGrant.body.error).toBe('unsupported_grant_type');

    for (const path of [`${AUTH}/register`, `${AUTH}/refresh`, CONVERSATIONS]) {
      const form = await t.http
        .post(path)
        .set(bearer(res.body as Tokens))
        .type('form')
        .send({ username: 'x', password: PASSWORD });
      expect(form.status).toBe(415);
      expect(form.body.error).toBe('unsupported_media_type');
    }
  });

  it('should answer a wrong password and an unknown username alike', async () => {
    await register(t, 'dave');
    const ip = freshAddress();
    const wrong = await signIn(t, 'dave', 'not the password', ip);
    const unknown = await signIn(t, 'nobody-here', 'not the password', ip);
    for (const res of [wrong, unknown]) {
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_credentials"');
    }
    expect(errorOf(wrong)).toEqual(errorOf(unknown));
    expect(errorOf(wrong)).toEqual({
      statusCode: 401,
      error: 'invalid_credentials',
      message: 'The username or password is wrong',
    });
  });

  it('should rotate refresh tokens, and end the whole sign-in when a spent one comes back', async () => {
    await register(t, 'erin');
    const first = await tokensOf(t, 'erin');
    const res = await t.http.post(`${AUTH}/refresh`).send({ refresh_token: first.refresh_token });
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const second = res.body as Tokens;
    expect(second.refresh_token).not.toBe(first.refresh_token);
    await t.http.get(CONVERSATIONS).set(bearer(second)).expect(200);
    // An independent sign-in of the same user is another family and survives.
    const elsewhere = await tokensOf(t, 'erin');

    const replay = await t.http
      .post(`${AUTH}/refresh`)
      .send({ refresh_token: first.refresh_token });
    expect(replay.status).toBe(401);
    expect(replay.body.error).toBe('invalid_refresh_token');
    expect(replay.body.message).toContain('already used');
    // The replay revoked the token it had been replaced by.
    const after = await t.http
      .post(`${AUTH}/refresh`)
      .send({ refresh_token: second.refresh_token });
    expect(after.status).toBe(401);
    expect(after.body.error).toBe('invalid_refresh_token');
    await t.http
      .post(`${AUTH}/refresh`)
      .send({ refresh_token: elsewhere.refresh_token })
      .expect(200);

    const stored = await t.prisma.refreshToken.findMany();
    expect(JSON.stringify(stored)).not.toContain(first.refresh_token);
  });

  it('should give exactly one winner when one refresh token is spent twice at once', async () => {
    await register(t, 'racer');
    const tokens = await tokensOf(t, 'racer');
    const answers = await Promise.all(
      [1, 2].map(() =>
        t.http.post(`${AUTH}/refresh`).send({ refresh_token: tokens.refresh_token }),
      ),
    );
    expect(answers.map((r) => r.status).sort()).toEqual([200, 401]);
  });

  it('should sign out: the refresh token and its successors are revoked, and unknown ones answer 204 too', async () => {
    await register(t, 'frank');
    const tokens = await tokensOf(t, 'frank');
    await t.http.post(`${AUTH}/logout`).send({ refresh_token: tokens.refresh_token }).expect(204);
    const res = await t.http.post(`${AUTH}/refresh`).send({ refresh_token: tokens.refresh_token });
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_refresh_token');
    await t.http.post(`${AUTH}/logout`).send({ refresh_token: 'never-issued' }).expect(204);
    const unknown = await t.http.post(`${AUTH}/refresh`).send({ refresh_token: 'never-issued' });
    expect(unknown.body).toMatchObject({ error: 'invalid_refresh_token' });
  });

  it('should refuse expired, forged and foreign access tokens with 401', async () => {
    const userId = await register(t, 'gina');
    const sign = (secret: string, exp: string, issuer = 'chat-backend') =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer(issuer)
        .setSubject(userId)
        .setIssuedAt()
        .setExpirationTime(exp)
        .sign(new TextEncoder().encode(secret));
    const cases: [string, string][] = [
      [await sign(SECRET, '-1m'), 'token_expired'],
      [await sign('x'.repeat(40), '1h'), 'invalid_token'],
      [await sign(SECRET, '1h', 'someone-else'), 'invalid_token'],
      [(await tokensOf(t, 'gina')).refresh_token, 'invalid_token'],
    ];
    for (const [token, code] of cases) {
      const res = await t.http.get(CONVERSATIONS).set('Authorization', `Bearer ${token}`);
      expect(res.status).toBe(401);
      expect(res.body.error).toBe(code);
    }
    await t.http
      .get(CONVERSATIONS)
      .set('Authorization', `Bearer ${await sign(SECRET, '1h')}`)
      .expect(200);
  });

  it('should block a username after LOGIN_FAILURES_PER_ACCOUNT failures from any address, known or not', async () => {
    await register(t, 'henry');
    for (const username of ['henry', 'no-such-henry']) {
      for (let i = 0; i < 3; i++)
        expect((await signIn(t, username, 'wrong password')).status).toBe(401);
      const blocked = await signIn(t, username, 'wrong password');
      expect(blocked.status).toBe(429);
      expect(blocked.body.error).toBe('rate_limited');
      expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(800);
    }
    // The right password waits too, from yet another address, also on another replica.
    expect((await signIn(t, 'henry')).status).toBe(429);
    const replica = await t.startApp();
    expect((await signIn(replica, 'henry')).status).toBe(429);
    await replica.close();
    // Other accounts are untouched.
    await register(t, 'henry2');
    expect((await signIn(t, 'henry2')).status).toBe(200);
  });

  it('should block an address after LOGIN_FAILURES_PER_IP failures whatever the usernames', async () => {
    const ip = freshAddress();
    await register(t, 'ivan');
    for (let i = 0; i < 5; i++)
      expect((await signIn(t, `guess-${i}`, 'wrong password', ip)).status).toBe(401);
    expect((await signIn(t, 'guess-5', 'wrong password', ip)).status).toBe(429);
    const right = await signIn(t, 'ivan', PASSWORD, ip);
    expect(right.status).toBe(429);
    expect(right.headers['retry-after']).toBeDefined();
    expect((await signIn(t, 'ivan', PASSWORD, freshAddress())).status).toBe(200);
  });

  it('should answer bad input with 400 and a stable code, never a 500', async () => {
    const cases: [string, unknown, string][] = [
      ['register', {}, 'validation_failed'],
      ['register', { username: 'jo', password: PASSWORD }, 'validation_failed'],
      ['register', { username: 'has space', password: PASSWORD }, 'validation_failed'],
      ['register', { username: 'x'.repeat(65), password: PASSWORD }, 'validation_failed'],
      ['register', { username: 42, password: PASSWORD }, 'validation_failed'],
      ['register', { username: 'kate', password: 'short' }, 'validation_failed'],
      ['register', { username: 'kate', password: 'p'.repeat(1025) }, 'validation_failed'],
      ['register', { username: 'kate', password: ['a', 'b'] }, 'validation_failed'],
      ['register', { username: 'kate', password: PASSWORD, admin: true }, 'validation_failed'],
      ['register', [], 'invalid_body'],
      ['token', { username: 'kate' }, 'validation_failed'],
      ['token', { username: 'kate', password: 12345678 }, 'validation_failed'],
      ['token', { username: 'kate', password: 'p'.repeat(100_000) }, 'validation_failed'],
      ['refresh', {}, 'validation_failed'],
      ['refresh', { refresh_token: 7 }, 'validation_failed'],
      ['logout', { refresh_token: 'x'.repeat(201) }, 'validation_failed'],
    ];
    for (const [route, body, code] of cases) {
      const res = await t.http.post(`${AUTH}/${route}`).send(body as object);
      expect({ route, body, status: res.status, error: res.body.error }).toEqual({
        route,
        body,
        status: 400,
        error: code,
      });
    }
    const invalidJson = await t.http
      .post(`${AUTH}/token`)
      .set('Content-Type', 'application/json')
      .send('{"username":');
    expect(invalidJson.body.error).toBe('invalid_json');
    // The longest password is accepted.
    await register(t, 'kate', 'p'.repeat(1024));
    expect((await signIn(t, 'kate', 'p'.repeat(1024))).status).toBe(200);
  });

  it('should serve the OpenAI-compatible door and the WebSocket to a local access token', async () => {
    await register(t, 'liam');
    const tokens = await tokensOf(t, 'liam');
    const client = new OpenAI({
      baseURL: `${t.url}/v1`,
      apiKey: tokens.access_token,
      maxRetries: 0,
    });
    const completion = await client.chat.completions.create({
      model: 'lmstudio/default',
      messages: [{ role: 'user', content: 'hi there' }],
    });
    expect(completion.choices[0].message.content).toContain('hi there');
    const refused = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: 'not-a-token', maxRetries: 0 });
    await expect(refused.models.list()).rejects.toMatchObject({ status: 401 });

    const id = await t.createConversation({}, bearer(tokens));
    const socket = await TestSocket.open(t.url, { headers: bearer(tokens) });
    socket.send({ type: 'message.send', conversationId: id, message: 'over the socket' });
    await socket.waitFor((m) => m.type === 'message.completed');
    expect(socket.text(id)).toContain('over the socket');
    socket.ws.close();
  });

  it('should offer the password flow in the OpenAPI document, next to the bearer scheme', async () => {
    const doc = (await t.http.get('/docs-json').expect(200)).body;
    expect(doc.components.securitySchemes.local).toEqual({
      type: 'oauth2',
      description: expect.any(String),
      flows: { password: { tokenUrl: '/api/v1/auth/token', scopes: {} } },
    });
    expect(doc.paths['/api/v1/conversations'].get.security).toEqual(
      expect.arrayContaining([{ bearer: [] }, { local: [] }]),
    );
    const token = doc.paths['/api/v1/auth/token'].post;
    expect(Object.keys(token.requestBody.content)).toEqual([
      'application/json',
      'application/x-www-form-urlencoded',
    ]);
    expect(Object.keys(token.responses)).toEqual(
      expect.arrayContaining(['200', '400', '401', '429']),
    );
    expect(doc.paths['/api/v1/auth/register'].post.responses['409']).toBeDefined();
    for (const route of ['register', 'token', 'refresh', 'logout'])
      expect(doc.paths[`/api/v1/auth/${route}`].post.security).toEqual([]);

    const dir = await mkdtemp(path.join(os.tmpdir(), 'chat-openapi-'));
    try {
      const file = path.join(dir, 'openapi.json');
      await writeFile(file, JSON.stringify(doc));
      const lint = await promisify(execFile)(
        process.execPath,
        [require.resolve('@redocly/cli/bin/cli.js'), 'lint', file, '--format=stylish'],
        { env: { ...process.env, REDOCLY_TELEMETRY: 'off' } },
      ).catch((error: { stdout: string; stderr: string }) => error);
      expect(`${lint.stdout}\n${lint.stderr}`).toContain('Woohoo! Your API description is valid');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);

  /** `npm run users -- …` as an operator runs it, on this spec's database. */
  const run = (args: string[], input: string) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(
        path.join('node_modules', '.bin', 'tsx'),
        ['scripts/users.ts', ...args],
        { env: { ...process.env, DATABASE_URL: t.db.url, AUTH_MODE: 'none' } },
        (error, stdout, stderr) =>
          resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
      );
      child.stdin?.end(input);
    });

  it('should hand the conversations made without auth to a user with `npm run users -- adopt`', async () => {
    const open = await t.startApp({ env: { AUTH_MODE: 'none' } });
    const before = await open.http.post('/api/v1/conversations').send({ title: 'before sign-in' });
    expect(before.status).toBe(201);
    await open.close();
    expect(await run(['create', 'Noa'], `${PASSWORD}\n`)).toMatchObject({ code: 0 });
    const { access_token } = await tokensOf(t, 'noa');
    const mine = () =>
      t.http.get('/api/v1/conversations').set('Authorization', `Bearer ${access_token}`);
    expect((await mine()).body.data).toEqual([]);

    const adopted = await run(['adopt', 'noa'], '');
    expect(adopted).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/handed [1-9]\d* conversation/),
    });
    const listed = await mine();
    expect(listed.body.data.map((c: { id: string }) => c.id)).toContain(before.body.id);
    expect(await run(['adopt', 'nobody-here'], '')).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('no user named nobody-here'),
    });
  }, 120_000);

  describe('with AUTH_REGISTRATION=closed', () => {
    it('should refuse sign-ups, and take accounts made with `npm run users`', async () => {
      const closed = await t.startApp({ env: { AUTH_REGISTRATION: 'closed' } });
      const res = await closed.http
        .post(`${AUTH}/register`)
        .send({ username: 'mia', password: PASSWORD });
      expect(res.status).toBe(403);
      expect(res.body.error).toBe('registration_closed');

      const created = await run(['create', 'Mia'], `${PASSWORD}\n`);
      expect(created).toMatchObject({ code: 0, stdout: expect.stringContaining('created Mia') });
      expect((await signIn(closed, 'mia')).status).toBe(200);
      expect(await run(['delete', 'mia'], '')).toMatchObject({ code: 0 });
      expect((await signIn(closed, 'mia')).status).toBe(401);
      await closed.close();
    }, 120_000);
  });

  it('should not start without a LOCAL_JWT_SECRET of at least 32 characters', () => {
    expect(() => loadEnv({ AUTH_MODE: 'local' })).toThrow(ConfigError);
    expect(() => loadEnv({ AUTH_MODE: 'local' })).toThrow(/LOCAL_JWT_SECRET/);
    expect(() => loadEnv({ AUTH_MODE: 'local', LOCAL_JWT_SECRET: 'short' })).toThrow(
      /LOCAL_JWT_SECRET must be at least 32 characters/,
    );
    expect(() => loadEnv({ AUTH_MODE: 'local', LOCAL_JWT_SECRET: 'short' })).not.toThrow(/short/);
  });
});
