import { CONVERSATIONS, waitUntil, withTestApp } from './utils/harness';
import { TestSocket } from './utils/ws-client';

/** A promise and the way to settle it: holds a fake's request until the test lets it go. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

describe('Generated titles and topics', () => {
  // Titles come from the Groq alias on a fake of their own, so each fake's script is its own.
  const t = withTestApp({
    groq: 'own-fake',
    env: {
      TITLES: 'on',
      TITLE_MODEL: 'groq/llama-3.3-70b',
      TITLE_TIMEOUT_MS: '2000',
      LLM_MAX_RETRIES: '0',
    },
  });

  async function conversation(id: string): Promise<Record<string, unknown>> {
    return (await t.http.get(`${CONVERSATIONS}/${id}`).expect(200)).body;
  }

  async function titleOutcome(outcome: string): Promise<number> {
    const text = (await t.http.get('/metrics').expect(200)).text;
    const line = text
      .split('\n')
      .find((l) => l.startsWith(`conversation_titles_total{outcome="${outcome}"}`));
    return line ? Number(line.split(' ')[1]) : 0;
  }

  it('should title an untitled conversation after its first reply, with topics, and list them', async () => {
    const id = await t.createConversation();
    const res = await t.send(id, 'Plan one day in Lisbon please');
    expect(res.body.response).toBe('Echo: Plan one day in Lisbon please [messages=2]');

    await waitUntil(async () => (await conversation(id)).title !== null);
    expect(await conversation(id)).toMatchObject({
      title: 'Plan one day in Lisbon please',
      titleSource: 'generated',
      topics: ['plan', 'lisbon', 'please'],
    });
    const [request] = t.groqFake.requests;
    expect(request.body.model).toBe('llama-3.3-70b-versatile');
    expect(request.body.messages[0].content).toMatch(/^You name conversations\./);
    const list = await t.http.get(CONVERSATIONS).expect(200);
    expect(list.body.data.find((c: { id: string }) => c.id === id)).toMatchObject({
      title: 'Plan one day in Lisbon please',
      topics: ['plan', 'lisbon', 'please'],
    });

    // Titled now: later replies make no title call.
    await t.send(id, 'And the next day?');
    expect(t.groqFake.requests).toHaveLength(1);
  });

  it('should send conversation.updated on a stream of the conversation still open when the title arrives', async () => {
    const title = gate();
    const reply = gate();
    t.groqFake.script({ kind: 'held', until: title.promise });
    const id = await t.createConversation();
    await t.send(id, 'Ferries across the Tagus'); // not held up by the title call
    await t.groqFake.waitFor((requests) => requests.length === 1);

    t.fake.script({ kind: 'held', until: reply.promise });
    const stream = await t.openStream(id, 'Which one is fastest?');
    await stream.waitFor('message.created');
    title.open();
    const updated = await stream.waitFor('conversation.updated');
    reply.open();
    await stream.ended;

    expect(JSON.parse(updated.data)).toEqual({
      id,
      title: 'Ferries across the Tagus',
      topics: ['ferries', 'across', 'tagus'],
    });
    const types = stream.events.map((e) => e.event);
    expect(types[0]).toBe('message.created');
    expect(types[1]).toBe('conversation.updated');
    expect(types.at(-1)).toBe('message.completed');
    const ids = stream.events.map((e) => Number(e.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
  });

  it('should relay conversation.updated over the WebSocket door as well', async () => {
    const title = gate();
    const reply = gate();
    t.groqFake.script({ kind: 'held', until: title.promise });
    const id = await t.createConversation();
    await t.send(id, 'Trams of Lisbon');
    await t.groqFake.waitFor((requests) => requests.length === 1);

    t.fake.script({ kind: 'held', until: reply.promise });
    const socket = await TestSocket.open(t.url);
    try {
      socket.send({ type: 'message.send', conversationId: id, message: 'Line 28?' });
      await socket.waitForType('message.created', id);
      title.open();
      const updated = await socket.waitForType('conversation.updated', id);
      reply.open();
      await socket.turnEnd(id);
      expect(updated).toMatchObject({
        conversationId: id,
        data: { id, title: 'Trams of Lisbon', topics: ['trams', 'lisbon'] },
      });
      expect(typeof updated.id).toBe('number');
    } finally {
      socket.ws.close();
    }
  });

  it('should leave the reply alone when the title call fails: no title, the failure counted', async () => {
    const before = await titleOutcome('provider_rejected_request');
    t.groqFake.script({ kind: 'error', status: 400 });
    const id = await t.createConversation();
    const stream = await t.stream(id, 'Hello there');

    expect(stream.events.map((e) => e.event)).toEqual([
      'message.created',
      'message.delta',
      'message.delta',
      'message.delta',
      'message.delta',
      'message.completed',
    ]);
    await waitUntil(async () => (await titleOutcome('provider_rejected_request')) === before + 1);
    expect(await conversation(id)).toMatchObject({ title: null, titleSource: null, topics: [] });
    expect((await t.storedMessages(id)).map((m) => m.status)).toEqual(['complete', 'complete']);
  });

  it('should give up a title call at TITLE_TIMEOUT_MS, counted as title_timeout', async () => {
    const before = await titleOutcome('title_timeout');
    t.groqFake.script({ kind: 'hang' });
    const id = await t.createConversation();
    await t.send(id, 'Slow titles');
    await waitUntil(async () => (await titleOutcome('title_timeout')) === before + 1, 6000);
    expect((await conversation(id)).title).toBeNull();
  });

  it("should never overwrite the user's title, even one set while the title call runs", async () => {
    const title = gate();
    t.groqFake.script({ kind: 'held', until: title.promise });
    const before = await titleOutcome('kept');
    const id = await t.createConversation();
    await t.send(id, 'Weekend in Sintra');
    await t.groqFake.waitFor((requests) => requests.length === 1);

    await t.http.patch(`${CONVERSATIONS}/${id}`).send({ title: 'Mine' }).expect(200);
    title.open();
    await waitUntil(async () => (await titleOutcome('kept')) === before + 1);
    expect(await conversation(id)).toMatchObject({
      title: 'Mine',
      titleSource: 'user',
      topics: [],
    });

    // Cleared by the user: the next reply names it again.
    await t.http.patch(`${CONVERSATIONS}/${id}`).send({ title: null }).expect(200);
    await t.send(id, 'Palaces?');
    await waitUntil(async () => (await conversation(id)).title !== null);
    expect(await conversation(id)).toMatchObject({ title: 'Palaces?', titleSource: 'generated' });
  });
});
