import { AppClient, withTestApp } from './utils/harness';

const REGISTER = '/api/v1/auth/register';
const PASSWORD = 'correct horse battery staple';

describe('Registrations per address, shared by replicas (AUTH_MODE=local)', () => {
  const env = {
    AUTH_MODE: 'local',
    LOCAL_JWT_SECRET: 'registration-secret-that-is-long-enough-0123',
    // Addresses come from X-Forwarded-For, so one test can speak for several clients.
    TRUST_PROXY: 'loopback',
    REGISTRATIONS_PER_HOUR_PER_ADDRESS: '3',
  };
  const t = withTestApp({ env });

  it('should refuse the registration past the limit whichever replica receives it', async () => {
    const other = await t.startApp({ env });
    const from = '203.0.113.10';
    const register = (app: AppClient, username: string) =>
      app.http.post(REGISTER).set('X-Forwarded-For', from).send({ username, password: PASSWORD });

    // A taken name counts too: the limit is on attempts, not on accounts made.
    await register(t, 'user-1').expect(201);
    await register(other, 'user-1').expect(409);
    await register(other, 'user-2').expect(201);

    for (const [replica, username] of [
      [t, 'user-3'],
      [other, 'user-4'],
    ] as const) {
      const res = await register(replica, username).expect(429);
      expect(res.body).toMatchObject({ statusCode: 429, error: 'rate_limited' });
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(3500);
    }
    expect(await t.prisma.user.count()).toBe(2);

    // Another address still may.
    await t.http
      .post(REGISTER)
      .set('X-Forwarded-For', '203.0.113.11')
      .send({ username: 'user-5', password: PASSWORD })
      .expect(201);
  });
});
