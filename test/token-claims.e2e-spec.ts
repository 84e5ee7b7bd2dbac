import { SignJWT } from 'jose';

import { LOCAL_TOKEN_ISSUER } from '../src/auth/auth.service';
import { CONVERSATIONS, withTestApp } from './utils/harness';
import { refusedUpgrade } from './utils/ws-client';

const SECRET = 'token-claims-secret-that-is-long-enough-0123';

/** Subjects a signed token may carry that name no owner. */
const ODD_SUBJECTS: [string, unknown][] = [
  ['a number', 42],
  ['an object', { id: 'alice' }],
  ['a boolean', true],
  ['an array', ['alice']],
  ['an empty string', ''],
];

/** Signs any payload, as a careless or hostile identity provider could. */
function sign(payload: Record<string, unknown>, opts: { issuer?: string; exp?: boolean } = {}) {
  let jwt = new SignJWT(payload).setProtectedHeader({ alg: 'HS256' }).setIssuedAt();
  if (opts.issuer) jwt = jwt.setIssuer(opts.issuer);
  if (opts.exp !== false) jwt = jwt.setExpirationTime('1h');
  return jwt.sign(new TextEncoder().encode(SECRET));
}

interface Refusal {
  status: number;
  code: string;
  type?: string;
}

/** What each door answers a bearer token: REST, the WebSocket upgrade, /v1 (OpenAI's shape). */
async function doors(url: string, token: string): Promise<Record<string, Refusal>> {
  const headers = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };
  const rest = await fetch(`${url}${CONVERSATIONS}`, { headers });
  const restBody = (await rest.json()) as { error: string };
  const ws = await refusedUpgrade(url, { protocols: ['chat.v1', `bearer.${token}`] });
  const v1 = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers,
    body: JSON.stringify({
      model: 'lmstudio/default',
      messages: [{ role: 'user', content: 'hi' }],
    }),
  });
  const v1Body = (await v1.json()) as { error: { code: string; type: string } };
  return {
    rest: { status: rest.status, code: restBody.error },
    ws: { status: ws.status, code: (ws.body as { error: string }).error },
    v1: { status: v1.status, code: v1Body.error.code, type: v1Body.error.type },
  };
}

const REFUSED = { status: 401, code: 'invalid_token' };
const EVERY_DOOR_REFUSES = {
  rest: REFUSED,
  ws: REFUSED,
  v1: { ...REFUSED, type: 'authentication_error' },
};

describe.each([
  ['jwt', { AUTH_MODE: 'jwt', JWT_SECRET: SECRET }, undefined],
  ['local', { AUTH_MODE: 'local', LOCAL_JWT_SECRET: SECRET }, LOCAL_TOKEN_ISSUER],
])('Token claims (AUTH_MODE=%s)', (_, env, issuer) => {
  // Every refusal below is a failed authentication from one address: do not trip that limit.
  const t = withTestApp({ env: { ...env, AUTH_FAILURES_PER_MINUTE: '1000' } });

  it.each(ODD_SUBJECTS)(
    'should answer 401 invalid_token on every door for a sub that is %s',
    async (__, sub) => {
      expect(await doors(t.url, await sign({ sub }, { issuer }))).toEqual(EVERY_DOOR_REFUSES);
    },
  );

  it('should answer 401 invalid_token on every door for a token without exp', async () => {
    expect(await doors(t.url, await sign({ sub: 'alice' }, { issuer, exp: false }))).toEqual(
      EVERY_DOOR_REFUSES,
    );
  });

  it('should still accept a well-formed token', async () => {
    const token = await sign({ sub: 'alice' }, { issuer });
    await t.http.get(CONVERSATIONS).set('Authorization', `Bearer ${token}`).expect(200);
  });
});

describe('Token claims (AUTH_MODE=jwt, JWT_REQUIRE_EXP=false)', () => {
  const t = withTestApp({
    env: { AUTH_MODE: 'jwt', JWT_SECRET: SECRET, JWT_REQUIRE_EXP: 'false' },
  });

  it('should accept a token without exp when the operator allows it', async () => {
    const token = await sign({ sub: 'alice' }, { exp: false });
    await t.http.get(CONVERSATIONS).set('Authorization', `Bearer ${token}`).expect(200);
  });
});
