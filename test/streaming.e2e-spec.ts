import { CONVERSATIONS as BASE, waitUntil, withTestApp } from './utils/harness';
import { openSse, SseStream, streamedText } from './utils/sse';

describe('Streaming replies (SSE)', () => {
  const t = withTestApp({
    groq: 'same-fake',
    env: { LMSTUDIO_MODEL: 'fake-model', LLM_TIMEOUT_MS: '2000', SSE_HEARTBEAT_MS: '100' },
  });

  it('should stream created, deltas and completed with increasing ids; deltas add up to the stored reply', async () => {
    const id = await t.createConversation();
    const stream = await t.stream(id, 'stream this please');
    expect(stream.status).toBe(200);
    expect(stream.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(stream.headers['cache-control']).toContain('no-cache');
    expect(stream.headers['x-accel-buffering']).toBe('no');
    expect(stream.headers['content-encoding']).toBeUndefined();

    const types = stream.events.map((e) => e.event);
    expect(types[0]).toBe('message.created');
    expect(types.at(-1)).toBe('message.completed');
    expect(types.slice(1, -1).every((type) => type === 'message.delta')).toBe(true);
    expect(types.length).toBeGreaterThan(4);
    const ids = stream.events.map((e) => Number(e.id));
    ids.forEach((value, i) => i > 0 && expect(value).toBeGreaterThan(ids[i - 1]));

    const deltas = streamedText(stream.events);
    const completed = JSON.parse(stream.events.at(-1)!.data);
    const stored = await t.storedMessages(id);
    expect(deltas).toBe('Echo: stream this please [messages=2]');
    expect(stored[1]).toMatchObject({
      status: 'complete',
      content: deltas,
      usageEstimated: false,
    });
    expect(stored[1].ttftMs).not.toBeNull();
    expect(completed.assistantMessage.id).toBe(stored[1].id);
    expect(completed.usage).toMatchObject({ completionTokens: 5, estimated: false });
    expect(JSON.parse(stream.events[0].data).assistantMessageId).toBe(stored[1].id);
    // Usage was asked for, so the provider's own count is stored.
    expect(t.fake.requests[0].body.stream_options).toEqual({ include_usage: true });
  });

  it('should estimate usage locally when the server sends none', async () => {
    t.fake.script({ kind: 'reply', content: 'no usage here', usage: null });
    const id = await t.createConversation();
    await t.stream(id, 'x');
    const stored = await t.storedMessages(id);
    expect(stored[1]).toMatchObject({ content: 'no usage here', usageEstimated: true });
    expect(stored[1].completionTokens).toBeGreaterThan(0);
  });

  it('should keep <think> reasoning out of message.delta and send it as message.reasoning', async () => {
    const id = await t.createConversation();
    const stream = await t.stream(id, '/think now');
    expect(streamedText(stream.events, 'message.delta')).toBe('The answer.');
    expect(streamedText(stream.events, 'message.reasoning')).toBe('reasoning here');
    expect((await t.storedMessages(id))[1]).toMatchObject({
      content: 'The answer.',
      reasoning: 'reasoning here',
    });
  });

  it('should send heartbeat comments while the provider is silent', async () => {
    let release!: () => void;
    const until = new Promise<void>((resolve) => (release = resolve));
    t.fake.script({ kind: 'held', until });
    const id = await t.createConversation();
    const stream = await t.openStream(id, 'slow');
    // The provider stays silent until the client has seen a heartbeat.
    await waitUntil(() => stream.comments.length > 0);
    release();
    await stream.ended;
    expect(stream.comments.length).toBeGreaterThanOrEqual(1);
    expect(stream.events.at(-1)!.event).toBe('message.completed');
  });

  it('should finish and store the reply when the client disconnects mid-stream', async () => {
    t.fake.script({ kind: 'streamSlow', chunkDelayMs: 60 });
    const id = await t.createConversation();
    const stream = await t.openStream(id, 'keep going without me');
    await stream.waitFor('message.delta');
    stream.disconnect();
    const during = await t.http.get(`${BASE}/${id}/generation`).expect(200);
    expect(during.body).toMatchObject({ status: 'streaming', model: 'lmstudio/default' });
    expect(during.body.text.length).toBeGreaterThan(0);
    await waitUntil(async () => (await t.storedMessages(id))[1]?.status === 'complete');
    expect((await t.storedMessages(id))[1].content).toBe(
      'Echo: keep going without me [messages=2]',
    );
    expect(t.fake.requests[0]).toMatchObject({ aborted: false, completed: true });
    await t.http.get(`${BASE}/${id}/generation`).expect(404);
  });

  it('should cancel mid-stream: abort the upstream, store the partial reply as cancelled, free the conversation', async () => {
    t.fake.script({ kind: 'streamSlow', chunkDelayMs: 150 });
    const id = await t.createConversation();
    const stream = await t.openStream(id, 'one two three four five six');
    await stream.waitFor('message.delta');
    const cancelled = await t.http.post(`${BASE}/${id}/cancel`).expect(200);
    expect(cancelled.body.assistantMessage).toMatchObject({
      status: 'cancelled',
      error: { code: 'turn_cancelled' },
    });
    await stream.ended;
    expect(stream.events.at(-1)!.event).toBe('error');
    expect(JSON.parse(stream.events.at(-1)!.data).code).toBe('turn_cancelled');
    await t.fake.waitFor((r) => r[0]?.aborted === true);

    const stored = await t.storedMessages(id);
    const streamed = streamedText(stream.events);
    expect(stored[1].status).toBe('cancelled');
    expect(stored[1].content).toBe(streamed);
    expect(stored[1].content.length).toBeLessThan(
      'Echo: one two three four five six [messages=2]'.length,
    );
    await t.send(id, 'next');
    await t.http.post(`${BASE}/${id}/cancel`).expect(404);
  });

  it('should end with an error event and store the partial text as failed when the upstream drops', async () => {
    t.fake.script({ kind: 'drop', afterChunks: 2 });
    const id = await t.createConversation();
    const stream = await t.stream(id, 'a b c d e f');
    const last = stream.events.at(-1)!;
    expect(last.event).toBe('error');
    expect(JSON.parse(last.data).code).toBe('provider_error');
    const stored = await t.storedMessages(id);
    expect(stored.map((m) => [m.role, m.status])).toEqual([
      ['user', 'complete'],
      ['assistant', 'failed'],
    ]);
    expect(stored[1].content).toBe('Echo: a');
    // No retry after the first token: the client already has that text.
    expect(t.fake.requests).toHaveLength(1);
  });

  it('should retry errors before the first token like whole replies', async () => {
    t.fake.script({ kind: 'error', status: 503 });
    const id = await t.createConversation();
    const stream = await t.stream(id, 'retry');
    expect(stream.events.at(-1)!.event).toBe('message.completed');
    expect(t.fake.requests).toHaveLength(2);
  });

  it('should answer 409 to a whole-reply turn while a stream runs on the same conversation', async () => {
    t.fake.script({ kind: 'streamSlow', chunkDelayMs: 80 });
    const id = await t.createConversation();
    const stream = await t.openStream(id, 'busy busy busy');
    await stream.waitFor('message.created');
    const res = await t.send(id, 'me too', { expect: 409 });
    expect(res.body.error).toBe('conversation_busy');
    const second = await t.openStream(id, 'me three');
    expect(second.status).toBe(409);
    await stream.ended;
  });

  it('should answer errors before the stream starts as JSON with the right status', async () => {
    const res = await t.http
      .post(`${BASE}/01936f3e-8a4c-7b1e-9d2a-3c4b5d6e7f80/messages/stream`)
      .send({ message: 'x' })
      .expect(404);
    expect(res.headers['content-type']).toMatch(/json/);
    expect(res.body.error).toBe('conversation_not_found');
  });

  it('should stream through the Groq SDK too', async () => {
    const id = await t.createConversation();
    const stream = await t.stream(id, 'groq', { model: 'groq/llama-3.3-70b' });
    expect(stream.events.at(-1)!.event).toBe('message.completed');
    expect(t.fake.requests[0].path).toBe('/openai/v1/chat/completions');
    expect(t.fake.requests[0].body.stream).toBe(true);
  });

  it('should let a running reply finish on shutdown, or store it failed when the deadline passes', async () => {
    for (const [deadlineMs, expected] of [
      ['5000', 'complete'],
      ['100', 'failed'],
    ] as const) {
      const app = await t.startApp({ env: { SHUTDOWN_TIMEOUT_MS: deadlineMs } });
      t.fake.script({ kind: 'streamSlow', chunkDelayMs: 100 });
      const id = await app.createConversation();
      const stream = await app.openStream(id, 'one two three four');
      await stream.waitFor('message.delta');
      await app.close();
      const stored = await t.storedMessages(id);
      expect(stored[1].status).toBe(expected);
      if (expected === 'failed') expect(stored[1].errorCode).toBe('server_shutdown');
      await stream.ended;
    }
  });

  it('should resume a running turn from Last-Event-ID after a disconnect, with no gap and no repeat', async () => {
    t.fake.script({ kind: 'streamSlow', chunkDelayMs: 80 });
    const id = await t.createConversation();
    const first = await t.openStream(id, 'a b c d e f g');
    await first.waitFor('message.delta');
    first.disconnect();
    const seen = first.events.map((e) => Number(e.id));
    const last = Math.max(...seen);

    const resumed = await openSse(`${t.url}${BASE}/${id}/generation/events`, {
      method: 'GET',
      headers: { 'Last-Event-ID': String(last) },
    });
    expect(resumed.status).toBe(200);
    await resumed.ended;
    const ids = resumed.events.map((e) => Number(e.id));
    expect(ids[0]).toBe(last + 1);
    ids.forEach((value, i) => i > 0 && expect(value).toBe(ids[i - 1] + 1));
    expect(resumed.events.at(-1)!.event).toBe('message.completed');
    expect(streamedText([...first.events, ...resumed.events])).toBe(
      'Echo: a b c d e f g [messages=2]',
    );
    await t.http.get(`${BASE}/${id}/generation/events`).expect(404);
  });

  describe('a same-key re-POST with Last-Event-ID', () => {
    const ids = (stream: SseStream) => stream.events.map((e) => Number(e.id));

    it('should go on after that id while the turn still runs, never repeating an event', async () => {
      t.fake.script({ kind: 'streamSlow', chunkDelayMs: 80 });
      const id = await t.createConversation();
      const key = { 'Idempotency-Key': 'resume-running' };
      const first = await t.openStream(id, 'one two three four five six', { headers: key });
      await first.waitFor('message.delta');
      await waitUntil(() => first.events.length >= 3);
      first.disconnect();
      const last = Math.max(...ids(first));

      const again = await t.openStream(id, 'one two three four five six', {
        headers: { ...key, 'Last-Event-ID': String(last) },
      });
      expect(again.status).toBe(200);
      await again.ended;
      const replayed = ids(again);
      expect(replayed[0]).toBe(last + 1);
      replayed.forEach((value, i) => i > 0 && expect(value).toBe(replayed[i - 1] + 1));
      expect(again.events.at(-1)!.event).toBe('message.completed');
      const stored = await t.storedMessages(id);
      expect(stored).toHaveLength(2);
      expect(streamedText([...first.events, ...again.events])).toBe(stored[1].content);
      expect(stored[1].content).toBe('Echo: one two three four five six [messages=2]');
    });

    it('should go on after that id with the events a finished turn first sent, under their ids', async () => {
      const id = await t.createConversation();
      const key = { 'Idempotency-Key': 'resume-finished' };
      const first = await t.stream(id, 'seven eight nine ten', { headers: key });
      const cut = 3; // message.created and two deltas reached the client
      const last = Number(first.events[cut - 1].id);

      const again = await t.stream(id, 'seven eight nine ten', {
        headers: { ...key, 'Last-Event-ID': String(last) },
      });
      expect(again.status).toBe(200);
      expect(again.events.map((e) => [e.id, e.event])).toEqual(
        first.events.slice(cut).map((e) => [e.id, e.event]),
      );
      const stored = await t.storedMessages(id);
      expect(stored).toHaveLength(2);
      expect(streamedText([...first.events.slice(0, cut), ...again.events])).toBe(
        stored[1].content,
      );
      expect(stored[1].content).toBe('Echo: seven eight nine ten [messages=2]');

      // The whole turn again without the header; an id the turn never sent is refused.
      const whole = await t.stream(id, 'seven eight nine ten', { headers: key });
      expect(ids(whole)).toEqual(ids(first));
      const beyond = await t.http
        .post(`${BASE}/${id}/messages/stream`)
        .set({ ...key, 'Last-Event-ID': String(Math.max(...ids(first)) + 1) })
        .send({ message: 'seven eight nine ten' })
        .expect(400);
      expect(beyond.body.error).toBe('invalid_last_event_id');
    });

    it('should resume a regenerate stream re-sent with its key the same way', async () => {
      const id = await t.createConversation();
      await t.send(id, 'base question');
      const [, reply] = await t.storedMessages(id);
      const path = `${t.url}${BASE}/${id}/messages/${reply.id}/regenerate/stream`;
      const key = { 'Idempotency-Key': 'resume-regenerate' };
      const first = await openSse(path, { body: {}, headers: key });
      await first.ended;
      const last = Number(first.events[1].id);
      const again = await openSse(path, {
        body: {},
        headers: { ...key, 'Last-Event-ID': String(last) },
      });
      await again.ended;
      expect(ids(again)[0]).toBe(last + 1);
      expect(again.events.map((e) => e.id)).toEqual(first.events.slice(2).map((e) => e.id));
      const regenerated = (await t.storedMessages(id)).at(-1)!;
      expect(streamedText([...first.events.slice(0, 2), ...again.events])).toBe(
        regenerated.content,
      );
    });
  });
});
