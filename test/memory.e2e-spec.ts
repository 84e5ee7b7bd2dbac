import { SUMMARY_LABEL } from '../src/prompts/prompt-manager';
import type { RecordedRequest } from './fake-llm/fake-llm-server';
import { CONVERSATIONS, ModelDefinition, waitUntil, withTestApp } from './utils/harness';

/** A window of 256 tokens with 40 for the reply: about three exchanges of these messages fit. */
const TINY: ModelDefinition = {
  alias: 'lmstudio/tiny',
  provider: 'lmstudio',
  model: 'fake-model',
  contextWindow: 256,
  maxOutputTokens: 40,
};
const FACTS = [
  'My name is Ada Lovelace and I was born in London in the year 1815.',
  'My favourite number is 42 and my cat is called Babbage, a grey one.',
];
const filler = (n: number): string =>
  `Please remember filler topic number ${n}, which has quite a few extra words in it.`;

/** The service sends text contents only. */
const textOf = (content: unknown): string => (typeof content === 'string' ? content : '');
const isSummaryRequest = (r: RecordedRequest): boolean =>
  textOf(r.body.messages[0]?.content).startsWith('Update the running summary');
const chatRequests = (requests: RecordedRequest[]): RecordedRequest[] =>
  requests.filter((r) => !isSummaryRequest(r));

interface Brief {
  messages: number;
  omitted: number;
  summarized: number;
  promptTokens: number;
}

describe('Memory (rolling summaries, context manifests, GET/DELETE context)', () => {
  const t = withTestApp({
    models: [TINY],
    env: { SUMMARIES: 'on', SUMMARY_MODEL: 'lmstudio/default', SUMMARY_MAX_TOKENS: '200' },
  });

  const contextOf = (id: string) => t.http.get(`${CONVERSATIONS}/${id}/context`);
  const manifestOf = (id: string, messageId: string) =>
    t.http.get(`${CONVERSATIONS}/${id}/messages/${messageId}/context`);

  /** Resolves once no summary job holds the conversation and `marks` marks exist. */
  async function settled(id: string, marks: number): Promise<void> {
    await waitUntil(async () => {
      const conversation = await t.prisma.conversation.findUniqueOrThrow({ where: { id } });
      const count = await t.prisma.memoryMark.count({ where: { conversationId: id } });
      return count >= marks && conversation.summaryLeaseUntil === null;
    }, 10_000);
  }

  /** Sends the facts, then fillers until a turn leaves a message out; that turn's reply. */
  async function overflow(
    id: string,
  ): Promise<{ body: { context: Brief; assistantMessage: { id: string } } }> {
    for (const [n, message] of [
      ...FACTS,
      ...Array.from({ length: 10 }, (_, i) => filler(i)),
    ].entries()) {
      const res = await t.send(id, message);
      const brief = res.body.context as Brief;
      expect(brief.promptTokens).toBeGreaterThan(0);
      if (brief.omitted > 0) return res;
      expect(n).toBeLessThan(8);
    }
    throw new Error('the window never overflowed');
  }

  it('should keep early facts reaching the model through the summary once they fall out of the window', async () => {
    const id = await t.createConversation({ model: TINY.alias, systemPrompt: 'Be brief.' });
    const dropping = await overflow(id);
    // The first turn to drop messages had no summary yet: it says so, and what it left out.
    expect(dropping.body.context).toMatchObject({ summarized: 0 });
    await settled(id, 1);

    const summaryRequest = t.fake.requests.find(isSummaryRequest);
    expect(summaryRequest?.body.messages[1].content).toContain(`user: ${FACTS[0]}`);

    const next = await t.send(id, 'What is my name?');
    const sent = chatRequests(t.fake.requests).at(-1)!.body.messages;
    expect(sent[0]).toEqual({ role: 'system', content: 'Be brief.' });
    expect(sent[1].role).toBe('system');
    expect(sent[1].content).toContain(SUMMARY_LABEL);
    expect(sent[1].content).toContain(`user: ${FACTS[0]}`);
    // The fact itself is no longer in the history: only the summary carries it.
    expect(sent.slice(2).some((m) => m.content === FACTS[0])).toBe(false);
    expect(sent.at(-1)).toEqual({ role: 'user', content: 'What is my name?' });
    expect((next.body.context as Brief).summarized).toBeGreaterThan(0);
    expect((next.body.context as Brief).messages).toBe(sent.length - 2);
  });

  it('should record in the manifest what was sent, dropped and summarised', async () => {
    const id = await t.createConversation({ model: TINY.alias });
    const dropping = await overflow(id);
    await settled(id, 1);
    // The summary this turn sends (the turn may leave more out, and fold it after).
    const mark = await t.prisma.memoryMark.findFirstOrThrow({
      where: { conversationId: id },
      orderBy: { seq: 'desc' },
    });
    const res = await t.send(id, 'And now?');
    const turnRequest = chatRequests(t.fake.requests).at(-1)!;
    const manifest = await manifestOf(id, res.body.assistantMessage.id).expect(200);

    const stored = await t.storedMessages(id);
    const byContent = new Map(stored.map((m) => [m.content, m]));
    const history = turnRequest.body.messages.slice(2, -1);
    expect(manifest.body).toMatchObject({
      model: TINY.alias,
      contextWindow: 256,
      replyTokens: 40,
      promptBudget: 216,
      systemPrompt: { source: 'default' },
      summary: { throughMessageId: mark.messageId, summarizedMessages: mark.summarizedCount },
      resetAfterMessageId: null,
      history: {
        messages: history.length,
        firstMessageId: byContent.get(textOf(history[0].content))?.id,
        lastMessageId: byContent.get(textOf(history.at(-1)!.content))?.id,
      },
      userMessage: { messageId: res.body.userMessage.id },
    });
    const { systemPrompt, summary, history: part, userMessage } = manifest.body;
    expect(systemPrompt.tokens + summary.tokens + part.tokens + userMessage.tokens + 3).toBe(
      manifest.body.promptTokens,
    );
    expect(manifest.body.promptTokens).toBeLessThanOrEqual(216);

    // The turn that dropped messages recorded how many, before any summary existed.
    const before = await manifestOf(id, dropping.body.assistantMessage.id).expect(200);
    expect(before.body.summary).toBeNull();
    expect(before.body.history.omitted).toBe(dropping.body.context.omitted);

    await manifestOf(id, res.body.userMessage.id).expect(404, /context_not_recorded/);
    await manifestOf(id, '01936f3e-8a4c-7b1e-9d2a-3c4b5d6e7f99').expect(404, /message_not_found/);
    // The SSE completion carries the short form of the manifest stored with the reply.
    const stream = await t.stream(id, 'streamed');
    const completed = stream.events.find((e) => e.event === 'message.completed');
    const data = JSON.parse(completed?.data ?? '{}') as {
      context: Brief;
      assistantMessage: { id: string; context: Brief };
    };
    const streamed = await manifestOf(id, data.assistantMessage.id).expect(200);
    expect(data.context).toEqual({
      messages: streamed.body.history.messages + 1,
      omitted: streamed.body.history.omitted,
      summarized: streamed.body.summary?.summarizedMessages ?? 0,
      promptTokens: streamed.body.promptTokens,
    });
    expect(data.assistantMessage.context).toEqual(data.context);
  });

  it('should show the prompt the next turn sends, without calling a model', async () => {
    const id = await t.createConversation({ model: TINY.alias, systemPrompt: 'Be brief.' });
    await overflow(id);
    await settled(id, 1);
    const calls = t.fake.requests.length;
    const preview = await contextOf(id).expect(200);
    expect(t.fake.requests).toHaveLength(calls);

    await t.send(id, 'next');
    const sent = chatRequests(t.fake.requests).at(-1)!.body.messages;
    const previewed = (preview.body.messages as { role: string; content: string }[]).map(
      ({ role, content }) => ({ role, content }),
    );
    // A short next message fits alongside everything the preview showed.
    expect(sent.slice(0, -1)).toEqual(previewed);
    expect(preview.body).toMatchObject({
      model: TINY.alias,
      contextWindow: 256,
      replyTokens: 40,
      promptBudget: 216,
      summary: { summarizedMessages: expect.any(Number) },
    });
    expect(preview.body.promptTokens + preview.body.availableForMessage + 4).toBe(216);
  });

  it('should start the memory afresh on DELETE context, keeping the history readable', async () => {
    const id = await t.createConversation({ model: TINY.alias, systemPrompt: 'Be brief.' });
    await overflow(id);
    await settled(id, 1);
    const storedBefore = await t.storedMessages(id);

    await t.http.delete(`${CONVERSATIONS}/${id}/context`).expect(204);
    const preview = await contextOf(id).expect(200);
    expect(preview.body).toMatchObject({
      summary: null,
      resetAfterMessageId: storedBefore.at(-1)!.id,
      omitted: 0,
    });
    expect(preview.body.messages).toHaveLength(1);

    const res = await t.send(id, 'Who am I?');
    expect(chatRequests(t.fake.requests).at(-1)!.body.messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Who am I?' },
    ]);
    expect(res.body.context).toEqual(
      expect.objectContaining({ messages: 1, omitted: 0, summarized: 0 }),
    );
    const page = await t.http.get(`${CONVERSATIONS}/${id}/messages?limit=100`).expect(200);
    expect(page.body.data).toHaveLength(storedBefore.length + 2);
    // The turn after the reset remembers its own exchange.
    await t.send(id, 'Again?');
    expect(chatRequests(t.fake.requests).at(-1)!.body.messages).toHaveLength(4);
  });

  it('should give each branch the summary of its own path (regenerate, edit, switch back)', async () => {
    const id = await t.createConversation({ model: TINY.alias, systemPrompt: 'Be brief.' });
    await overflow(id);
    await settled(id, 1);
    const lastSent = () => chatRequests(t.fake.requests).at(-1)!.body.messages;
    const summaryOf = (sent: { content?: unknown }[]) => textOf(sent[1].content);
    const asked = await t.send(id, 'What is my name?');
    expect(summaryOf(lastSent())).toContain(`user: ${FACTS[0]}`);

    // A regenerated reply is answered with the summary of the path it continues.
    const regenerated = await t.http
      .post(`${CONVERSATIONS}/${id}/messages/${asked.body.assistantMessage.id}/regenerate`)
      .send({})
      .expect(201);
    expect(summaryOf(lastSent())).toContain(`user: ${FACTS[0]}`);
    expect(lastSent().at(-1)).toEqual({ role: 'user', content: 'What is my name?' });
    expect(regenerated.body.context.summarized).toBeGreaterThan(0);

    // Editing the first message starts a branch before the summary: it does not apply there.
    const [first] = await t.storedMessages(id);
    const grace = 'My name is Grace Hopper and I wrote the first compiler in 1952.';
    const edited = await t.http
      .post(`${CONVERSATIONS}/${id}/messages/${first.id}/edit`)
      .send({ message: grace })
      .expect(201);
    expect(lastSent()).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: grace },
    ]);
    expect(edited.body.context).toMatchObject({ messages: 1, omitted: 0, summarized: 0 });
    expect((await contextOf(id).expect(200)).body.summary).toBeNull();

    // The branch gets a summary of its own, built from its own messages.
    let dropped = false;
    for (let n = 0; n < 8 && !dropped; n++)
      dropped = ((await t.send(id, filler(n))).body.context as Brief).omitted > 0;
    expect(dropped).toBe(true);
    await settled(id, 2);
    await t.send(id, 'Who am I?');
    expect(summaryOf(lastSent())).toContain(`user: ${grace}`);
    expect(summaryOf(lastSent())).not.toContain(FACTS[0]);

    // Back on the first branch, its own summary again.
    await t.http
      .patch(`${CONVERSATIONS}/${id}`)
      .send({ currentLeafId: regenerated.body.assistantMessage.id })
      .expect(200);
    await t.send(id, 'And my cat?');
    expect(summaryOf(lastSent())).toContain(`user: ${FACTS[0]}`);
    expect(summaryOf(lastSent())).not.toContain(grace);
  });
});

describe('Memory when summaries fail', () => {
  // The summary alias is Groq's, which has no key here: every summary job fails.
  const t = withTestApp({
    models: [TINY],
    env: { SUMMARIES: 'on', SUMMARY_MODEL: 'groq/llama-3.3-70b' },
  });

  it('should keep turns working as before, counting the failure', async () => {
    const id = await t.createConversation({ model: TINY.alias });
    let dropped = 0;
    for (let n = 0; n < 8; n++) {
      const res = await t.send(id, filler(n));
      expect(res.body.response).toContain(`filler topic number ${n}`);
      if ((res.body.context as Brief).omitted > 0) dropped++;
    }
    expect(dropped).toBeGreaterThan(0);
    await waitUntil(async () => {
      const metrics = await t.http.get('/metrics');
      return /memory_summary_jobs_total\{outcome="failed"\} [1-9]/.test(metrics.text);
    });
    const last = await t.send(id, 'still here?');
    expect(last.body.context).toMatchObject({ summarized: 0 });
    expect(await t.prisma.memoryMark.count({ where: { conversationId: id } })).toBe(0);
  });
});

describe('Memory reset while a reply runs', () => {
  // An app of its own: a summary job left running by another test would reach the fake
  // upstream first and take the held reply this test scripts for its own turn.
  const t = withTestApp({ env: { SUMMARIES: 'on' } });

  it('should refuse to reset the context while a reply is being generated', async () => {
    const id = await t.createConversation();
    let release!: () => void;
    t.fake.script({ kind: 'held', until: new Promise<void>((r) => (release = r)) });
    const stream = await t.openStream(id, 'slow one');
    await t.fake.waitForRequests(1);
    await t.http.delete(`${CONVERSATIONS}/${id}/context`).expect(409, /conversation_busy/);
    release();
    await stream.ended;
    await t.http.delete(`${CONVERSATIONS}/${id}/context`).expect(204);
    await t.http
      .delete(`${CONVERSATIONS}/01936f3e-8a4c-7b1e-9d2a-3c4b5d6e7f99/context`)
      .expect(404, /conversation_not_found/);
  });
});

describe('Memory on an alias too small to summarise', () => {
  // No SUMMARY_MODEL: TINY's 256 tokens cannot hold a 200-token summary request.
  const t = withTestApp({
    models: [TINY],
    env: { SUMMARIES: 'on', SUMMARY_MAX_TOKENS: '200' },
  });

  it('should write the summary with the configured alias of the largest window, and say so', async () => {
    const id = await t.createConversation({ model: TINY.alias });
    let reply: { body: { context: Brief; assistantMessage: { id: string } } } | undefined;
    for (let n = 0; n < 8 && !(reply?.body.context.omitted ?? 0); n++)
      reply = await t.send(id, filler(n));
    expect(reply?.body.context.omitted).toBeGreaterThan(0);
    await waitUntil(
      async () => (await t.prisma.memoryMark.count({ where: { conversationId: id } })) > 0,
      10_000,
    );
    const mark = await t.prisma.memoryMark.findFirstOrThrow({ where: { conversationId: id } });
    expect(mark.model).toBe('lmstudio/default');

    const plan = {
      summaryModel: 'lmstudio/default',
      note: expect.stringMatching(
        /lmstudio\/tiny's 256-token window is too small.*lmstudio\/default/,
      ),
    };
    expect((await t.http.get(`${CONVERSATIONS}/${id}/context`)).body.memory).toEqual(plan);
    const manifest = await t.http.get(
      `${CONVERSATIONS}/${id}/messages/${reply!.body.assistantMessage.id}/context`,
    );
    expect(manifest.body.memory).toEqual(plan);
  });
});

describe('Memory when no alias is large enough to summarise', () => {
  // lmstudio/default has 8192 tokens; Groq's presets have no key here.
  const t = withTestApp({
    models: [TINY],
    env: { SUMMARIES: 'on', SUMMARY_MAX_TOKENS: '4500' },
  });

  it('should say why in GET …/context and in the manifest', async () => {
    const id = await t.createConversation({ model: TINY.alias });
    const reply = await t.send(id, filler(0));
    const plan = {
      summaryModel: null,
      note: expect.stringMatching(/too small.*no configured alias.*SUMMARY_MODEL/),
    };
    expect((await t.http.get(`${CONVERSATIONS}/${id}/context`)).body.memory).toEqual(plan);
    const manifest = await t.http.get(
      `${CONVERSATIONS}/${id}/messages/${reply.body.assistantMessage.id}/context`,
    );
    expect(manifest.body.memory).toEqual(plan);
  });
});
