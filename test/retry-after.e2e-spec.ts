import { withTestApp } from './utils/harness';

describe("A provider's Retry-After reaches the client", () => {
  const t = withTestApp({ env: { LMSTUDIO_MODEL: 'fake-model', LLM_MAX_RETRIES: '0' } });

  it('should answer a whole reply 429 provider_rate_limited with the Retry-After header', async () => {
    t.fake.script({ kind: 'error', status: 429, retryAfter: '60' });
    const id = await t.createConversation();
    const res = await t.send(id, 'hi', { expect: 429 });

    expect(res.body.error).toBe('provider_rate_limited');
    expect(res.headers['retry-after']).toBe('60');
  });

  it('should put retryAfter in the SSE error event', async () => {
    t.fake.script({ kind: 'error', status: 429, retryAfter: '60' });
    const id = await t.createConversation();
    const { events } = await t.stream(id, 'hi');

    const error = events.find((e) => e.event === 'error');
    expect(JSON.parse(error!.data)).toMatchObject({
      code: 'provider_rate_limited',
      retryAfter: 60,
    });
  });

  it('should run a rate-limited turn again in place for an idempotent retry', async () => {
    t.fake.script({ kind: 'error', status: 429, retryAfter: '60' });
    const id = await t.createConversation();
    const headers = { 'Idempotency-Key': 'k-1' };
    const failed = await t.send(id, 'hi', { headers, expect: 429 });
    expect(failed.headers['retry-after']).toBe('60');

    // A rate limit is transient: the same key asks for the reply again, not for the failure.
    const retried = await t.send(id, 'hi', { headers, expect: 201 });
    expect(retried.body.userMessage.id).toBe(failed.body.userMessageId);
    expect(t.fake.requests).toHaveLength(2);
  });
});
