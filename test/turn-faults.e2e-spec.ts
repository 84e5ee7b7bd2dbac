import { streamedText } from './utils/sse';
import { withTestApp } from './utils/harness';

const NUL = '\u0000';
const LONE = '\ud800';

/** True when PostgreSQL could not hold the text (the test's texts have no surrogate pairs). */
function unstorable(text: string): boolean {
  return text.includes(NUL) || /[\ud800-\udfff]/.test(text);
}

describe('Turn faults', () => {
  describe('text PostgreSQL cannot hold, from the provider', () => {
    // A short store retry: before the fix, the turn retried the doomed write this long.
    const t = withTestApp({
      env: { REPLY_STORE_RETRY_MS: '20000', CHECKPOINT_MS: '100' },
      fake: { tokenDelayMs: 40 },
    });

    it('should store a whole reply without NUL or lone surrogates and free the conversation', async () => {
      const id = await t.createConversation();
      t.fake.script({
        kind: 'reply',
        content: `<think>rea${NUL}son${LONE}ing</think>Hel${NUL}lo wor${LONE}ld 🙂${NUL}`,
      });
      const started = Date.now();
      const res = await t.send(id, 'hello');
      expect(Date.now() - started).toBeLessThan(5000);
      expect(res.body.response).toBe('Hello world 🙂');
      const stored = await t.storedMessages(id);
      expect(stored.map((m) => [m.status, m.content, m.reasoning])).toEqual([
        ['complete', 'hello', null],
        ['complete', 'Hello world 🙂', 'reasoning'],
      ]);
      const next = await t.send(id, 'again');
      expect(next.body.response).toMatch(/^Echo: again/);
    });

    it('should stream a reply without NUL or lone surrogates, store it and free the conversation', async () => {
      const id = await t.createConversation();
      // Word pieces: one streamed chunk each, NUL and a lone half in several of them.
      t.fake.script({
        kind: 'reply',
        content: `<think>${NUL}deep ${LONE}thought${NUL}</think>one ${NUL}two${NUL} thr${LONE}ee ${NUL}`,
      });
      const stream = await t.stream(id, 'hello');
      const types = stream.events.map((e) => e.event);
      expect(types).not.toContain('error');
      expect(types.at(-1)).toBe('message.completed');
      const text = streamedText(stream.events);
      const reasoning = streamedText(stream.events, 'message.reasoning');
      expect(text).toBe('one two three ');
      expect(unstorable(reasoning)).toBe(false);
      const [, reply] = await t.storedMessages(id);
      expect([reply.status, reply.content, reply.reasoning]).toEqual([
        'complete',
        'one two three ',
        'deep thought',
      ]);
      const next = await t.stream(id, 'again');
      expect(next.events.at(-1)?.event).toBe('message.completed');
    });

    it('should end a turn whose reply no retry can store as failed, at once, and free the conversation', async () => {
      const id = await t.createConversation();
      // A constraint the reply breaks (23514, integrity): a write no retry can fix.
      await t.prisma.$executeRawUnsafe(
        `alter table messages add constraint reply_not_poison check (position('POISON' in content) = 0) not valid`,
      );
      try {
        t.fake.script({ kind: 'reply', content: 'a POISON reply' });
        const started = Date.now();
        const res = await t.send(id, 'hello', { expect: 500 });
        expect(Date.now() - started).toBeLessThan(5000);
        expect(res.body.error).toBe('internal_error');
        const [, reply] = await t.storedMessages(id);
        expect([reply.status, reply.errorCode]).toEqual(['failed', 'internal_error']);
        const next = await t.send(id, 'again');
        expect(next.body.response).toMatch(/^Echo: again/);
      } finally {
        await t.prisma.$executeRawUnsafe(`alter table messages drop constraint reply_not_poison`);
      }
    }, 30_000);
  });

  describe('usage no integer column holds, from the provider', () => {
    const t = withTestApp({});

    it('should clamp absurd usage of a whole reply and store the turn', async () => {
      const id = await t.createConversation();
      t.fake.script({
        kind: 'reply',
        content: 'Fine.',
        usage: { prompt_tokens: 1e30, completion_tokens: 2 ** 31, total_tokens: 1e30 },
      });
      const res = await t.send(id, 'hello');
      expect(res.body.usage).toMatchObject({
        promptTokens: 2 ** 31 - 1,
        completionTokens: 2 ** 31 - 1,
      });
      const [, reply] = await t.storedMessages(id);
      expect([reply.status, reply.promptTokens]).toEqual(['complete', 2 ** 31 - 1]);
    });

    it('should estimate the usage of a stream that reported negative counts', async () => {
      const id = await t.createConversation();
      t.fake.script({
        kind: 'reply',
        content: 'Fine.',
        usage: { prompt_tokens: -1.7976931348623133e308, completion_tokens: -1, total_tokens: 0 },
      });
      const stream = await t.stream(id, 'hello');
      expect(stream.events.at(-1)?.event).toBe('message.completed');
      const [, reply] = await t.storedMessages(id);
      expect(reply.status).toBe('complete');
      expect(reply.promptTokens).toBeGreaterThan(0);
      expect(reply.usageEstimated).toBe(true);
      expect((await t.send(id, 'again')).body.response).toMatch(/^Echo: again/);
    });
  });

  describe('a runaway reply', () => {
    const t = withTestApp({ env: { REPLY_MAX_CHARS: '2000' } });

    it('should end a streamed reply that never stops at REPLY_MAX_CHARS as length and close the upstream', async () => {
      const id = await t.createConversation();
      t.fake.script({ kind: 'endless', piece: 'word ' });
      const stream = await t.stream(id, 'hello');
      expect(stream.events.at(-1)?.event).toBe('message.completed');
      expect(streamedText(stream.events)).toHaveLength(2000);
      const [, reply] = await t.storedMessages(id);
      expect([reply.status, reply.finishReason, reply.content.length]).toEqual([
        'complete',
        'length',
        2000,
      ]);
      await t.fake.waitFor((requests) => requests[0]?.aborted === true);
      const next = await t.send(id, 'again');
      expect(next.body.response).toMatch(/^Echo: again/);
    });

    it('should fail a whole reply whose body runs past its byte cap, and free the conversation', async () => {
      const id = await t.createConversation();
      // REPLY_MAX_CHARS=2000 caps a whole body at about 1 MB; this one, valid JSON, is 4 MB.
      const megabyte = Buffer.alloc(1 << 20, 'x');
      t.fake.script({
        kind: 'raw',
        writes: [
          Buffer.from('{"choices":[{"index":0,"message":{"content":"'),
          ...Array(4).fill(megabyte),
          Buffer.from('"},"finish_reason":"stop"}]}'),
        ],
      });
      const res = await t.send(id, 'hello', { expect: 502 });
      expect(res.body.error).toBe('provider_error');
      const [, reply] = await t.storedMessages(id);
      expect([reply.status, reply.errorCode]).toEqual(['failed', 'provider_error']);
      expect((await t.send(id, 'again')).body.response).toMatch(/^Echo: again/);
    });

    it('should cut a whole reply past REPLY_MAX_CHARS as length', async () => {
      const id = await t.createConversation();
      t.fake.script({ kind: 'reply', content: 'word '.repeat(1000) });
      const res = await t.send(id, 'hello');
      expect(res.body.response).toHaveLength(2000);
      expect(res.body.assistantMessage.finishReason).toBe('length');
      const [, reply] = await t.storedMessages(id);
      expect([reply.status, reply.finishReason, reply.content.length]).toEqual([
        'complete',
        'length',
        2000,
      ]);
    });
  });
});
