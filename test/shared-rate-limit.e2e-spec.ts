import { CONVERSATIONS, withTestApp } from './utils/harness';

describe('Rate limits shared by replicas (RATE_LIMIT_STORE=postgres)', () => {
  const env = { RATE_LIMIT_STORE: 'postgres', RATE_LIMIT_PER_MINUTE: '4' };
  const t = withTestApp({ env });

  it('should refuse the request past the limit whichever replica and route receive it', async () => {
    const other = await t.startApp({ env });
    await t.http.get(CONVERSATIONS).expect(200);
    await other.http.get('/api/v1/models').expect(200);
    await t.http.get('/api/v1/models').expect(200);
    await other.http.get(CONVERSATIONS).expect(200);

    for (const replica of [t, other]) {
      const res = await replica.http.get(CONVERSATIONS).expect(429);
      expect(res.body.error).toBe('rate_limited');
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    }
  });
});
