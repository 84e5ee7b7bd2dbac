import { newId } from '../src/common/ids';
import { CONVERSATIONS as BASE, waitUntil, withTestApp } from './utils/harness';
import { alternating, seedPath } from './utils/seed';
import { openSse, SseStream, streamedText } from './utils/sse';
import { twoOwners } from './utils/owners';

interface PathMessage {
  id: string;
  parentId: string | null;
  role: string;
  content: string;
  status: string;
  siblingCount: number;
  siblingIndex: number;
  siblingIds: string[];
}

interface Turn {
  userMessage: { id: string; parentId: string | null; content: string };
  assistantMessage: { id: string; parentId: string | null; content: string; model: string };
}

describe('Branches: regenerate, edit, switch', () => {
  const { keyA, keyB, env: owners } = twoOwners();
  const t = withTestApp({
    env: {
      ...owners,
      MAX_CONCURRENT_GENERATIONS_PER_OWNER: '2',
    },
  });
  const A = { 'X-API-Key': keyA };
  const B = { 'X-API-Key': keyB };

  const newConversation = (headers = A) => t.createConversation({ systemPrompt: 'Sys.' }, headers);
  const send = async (id: string, message: string, headers = A): Promise<Turn> =>
    (await t.send(id, message, { headers })).body as Turn;

  function post(path: string, body: object = {}, headers: Record<string, string> = A) {
    return t.http.post(`${BASE}${path}`).set(headers).send(body);
  }
  const regenerate = (id: string, messageId: string, body: object = {}, headers = A) =>
    post(`/${id}/messages/${messageId}/regenerate`, body, headers);
  const edit = (id: string, messageId: string, message: string, headers = A) =>
    post(`/${id}/messages/${messageId}/edit`, { message }, headers);
  const switchTo = (id: string, currentLeafId: string, headers = A) =>
    t.http.patch(`${BASE}/${id}`).set(headers).send({ currentLeafId });

  async function path(id: string, query: Record<string, string | number> = {}, headers = A) {
    const res = await t.http
      .get(`${BASE}/${id}/messages`)
      .set(headers)
      .query({ limit: 100, ...query })
      .expect(200);
    return res.body as { data: PathMessage[]; nextCursor: string | null; leafId: string | null };
  }
  const contents = async (id: string, query: Record<string, string> = {}) =>
    (await path(id, query)).data.map((m) => m.content);

  /** What the provider was sent last, without the system prompt. */
  const lastPrompt = () =>
    t.fake.requests
      .at(-1)!
      .body.messages.slice(1)
      .map((m) => m.content as string);

  function openBranchStream(id: string, messageId: string, action: string, body: object) {
    return openSse(`${t.url}${BASE}/${id}/messages/${messageId}/${action}/stream`, {
      body,
      headers: A,
    });
  }

  describe('regenerate', () => {
    it('should add a reply beside the first one, answering the same user message', async () => {
      const id = await newConversation();
      t.fake.script({ kind: 'reply', content: 'First answer.' });
      const first = await send(id, 'hello');
      const res = await regenerate(id, first.assistantMessage.id).expect(201);
      const second = res.body as Turn;

      expect(second.userMessage.id).toBe(first.userMessage.id);
      expect(second.assistantMessage.parentId).toBe(first.userMessage.id);
      expect(second.assistantMessage.id).not.toBe(first.assistantMessage.id);
      // The prompt ends at the user message: the earlier reply is not in it.
      expect(lastPrompt()).toEqual(['hello']);
      expect(await t.storedMessages(id)).toHaveLength(3);

      const { data, leafId } = await path(id);
      expect(data.map((m) => m.id)).toEqual([first.userMessage.id, second.assistantMessage.id]);
      expect(leafId).toBe(second.assistantMessage.id);
      expect(data[1]).toMatchObject({
        siblingCount: 2,
        siblingIndex: 2,
        siblingIds: [first.assistantMessage.id, second.assistantMessage.id],
      });
      expect(data[0]).toMatchObject({ parentId: null, siblingCount: 1, siblingIndex: 1 });
      const conversation = await t.http.get(`${BASE}/${id}`).set(A).expect(200);
      expect(conversation.body.currentLeafId).toBe(second.assistantMessage.id);
    });

    it('should accept the user message itself, and another model and params for this reply', async () => {
      const id = await newConversation();
      const first = await send(id, 'hello');
      const res = await regenerate(id, first.userMessage.id, {
        params: { temperature: 0.1 },
      }).expect(201);
      expect((res.body as Turn).assistantMessage.parentId).toBe(first.userMessage.id);
      expect(t.fake.requests.at(-1)!.body).toMatchObject({ temperature: 0.1 });
      const { data } = await path(id);
      expect(data[1].siblingCount).toBe(2);
    });

    it('should continue the next turn from the regenerated reply', async () => {
      const id = await newConversation();
      t.fake.script({ kind: 'reply', content: 'Discarded answer.' });
      const first = await send(id, 'hello');
      await regenerate(id, first.assistantMessage.id).expect(201);
      await send(id, 'and then?');
      expect(lastPrompt()).toEqual(['hello', 'Echo: hello [messages=2]', 'and then?']);
    });

    it('should stream the same events as a send', async () => {
      const id = await newConversation();
      const first = await send(id, 'hello');
      const stream = await openBranchStream(id, first.assistantMessage.id, 'regenerate', {});
      await stream.ended;
      expect(stream.status).toBe(200);
      expect(stream.events.map((e) => e.event)).toEqual([
        'message.created',
        ...Array(3).fill('message.delta'),
        'message.completed',
      ]);
      const created = JSON.parse(stream.events[0].data);
      expect(created.userMessage.id).toBe(first.userMessage.id);
      expect(streamedText(stream.events)).toBe('Echo: hello [messages=2]');
      const completed = JSON.parse(stream.events.at(-1)!.data);
      expect(completed.assistantMessage).toMatchObject({
        id: created.assistantMessageId,
        parentId: first.userMessage.id,
        status: 'complete',
      });
      // Event ids keep growing across the conversation's turns.
      expect(Number(stream.events[0].id)).toBeGreaterThan(1_000_000);
    });

    it('should replay an Idempotency-Key without a second reply, and refuse it with another body', async () => {
      const id = await newConversation();
      const first = await send(id, 'hello');
      const headers = { ...A, 'Idempotency-Key': 'regen-1' };
      const once = await regenerate(id, first.assistantMessage.id, {}, headers).expect(201);
      const twice = await regenerate(id, first.assistantMessage.id, {}, headers).expect(201);
      expect(twice.body.assistantMessage.id).toBe(once.body.assistantMessage.id);
      expect(twice.body.userMessage.id).toBe(first.userMessage.id);
      expect(t.fake.requests).toHaveLength(2);
      const other = await regenerate(
        id,
        first.assistantMessage.id,
        { params: { seed: 1 } },
        headers,
      );
      expect(other.status).toBe(422);
      expect(other.body.error).toBe('idempotency_key_reused');
      // A send cannot reuse a regenerate's key either.
      const sent = await t.send(id, 'hello', { headers, expect: 422 });
      expect(sent.body.error).toBe('idempotency_key_reused');
      expect(await t.storedMessages(id)).toHaveLength(3);
    });

    it('should be cancellable and followable like any turn', async () => {
      const id = await newConversation();
      const first = await send(id, 'hello');
      t.fake.script({ kind: 'hang' });
      const stream = await openBranchStream(id, first.assistantMessage.id, 'regenerate', {});
      const created = JSON.parse((await stream.waitFor('message.created')).data);
      const status = await t.http.get(`${BASE}/${id}/generation`).set(A).expect(200);
      expect(status.body.assistantMessageId).toBe(created.assistantMessageId);
      const cancelled = await post(`/${id}/cancel`).expect(200);
      expect(cancelled.body.assistantMessage).toMatchObject({
        id: created.assistantMessageId,
        status: 'cancelled',
      });
      await stream.ended;
      expect(stream.events.at(-1)!.event).toBe('error');
      // The cancelled reply stays on the path, as a failed send's does.
      const { data } = await path(id);
      expect(data[1]).toMatchObject({ status: 'cancelled', siblingCount: 2 });
    });
  });

  describe('edit', () => {
    it('should add a user message beside the edited one and answer it from the path before it', async () => {
      const id = await newConversation();
      const one = await send(id, 'one');
      const two = await send(id, 'two');
      const res = await edit(id, two.userMessage.id, 'TWO').expect(201);
      const edited = res.body as Turn;

      expect(edited.userMessage).toMatchObject({
        content: 'TWO',
        parentId: one.assistantMessage.id,
      });
      expect(edited.assistantMessage.parentId).toBe(edited.userMessage.id);
      expect(lastPrompt()).toEqual(['one', 'Echo: one [messages=2]', 'TWO']);

      const { data } = await path(id);
      expect(data.map((m) => m.content)).toEqual([
        'one',
        'Echo: one [messages=2]',
        'TWO',
        'Echo: TWO [messages=4]',
      ]);
      expect(data[2]).toMatchObject({
        siblingCount: 2,
        siblingIndex: 2,
        siblingIds: [two.userMessage.id, edited.userMessage.id],
      });
      // The old branch is still there, readable by naming its leaf.
      expect(await contents(id, { leafId: two.assistantMessage.id })).toEqual([
        'one',
        'Echo: one [messages=2]',
        'two',
        'Echo: two [messages=4]',
      ]);
    });

    it('should edit the first message into a new root', async () => {
      const id = await newConversation();
      const one = await send(id, 'one');
      await send(id, 'two');
      const edited = (await edit(id, one.userMessage.id, 'uno').expect(201)).body as Turn;
      expect(edited.userMessage.parentId).toBeNull();
      expect(lastPrompt()).toEqual(['uno']);
      const { data } = await path(id);
      expect(data.map((m) => m.content)).toEqual(['uno', 'Echo: uno [messages=2]']);
      expect(data[0]).toMatchObject({
        siblingCount: 2,
        siblingIndex: 2,
        siblingIds: [one.userMessage.id, edited.userMessage.id],
      });
    });

    it('should stream the edited turn', async () => {
      const id = await newConversation();
      const one = await send(id, 'one');
      const stream = await openBranchStream(id, one.userMessage.id, 'edit', { message: 'uno' });
      await stream.ended;
      expect(stream.events[0].event).toBe('message.created');
      expect(JSON.parse(stream.events[0].data).userMessage).toMatchObject({
        content: 'uno',
        parentId: null,
      });
      expect(streamedText(stream.events)).toBe('Echo: uno [messages=2]');
    });

    it('should refuse to edit a reply, and an empty or missing message', async () => {
      const id = await newConversation();
      const one = await send(id, 'one');
      const reply = await edit(id, one.assistantMessage.id, 'x').expect(422);
      expect(reply.body.error).toBe('wrong_message_role');
      for (const body of [{ message: '  ' }, {}]) {
        const res = await post(`/${id}/messages/${one.userMessage.id}/edit`, body).expect(400);
        expect(res.body.error).toBe('validation_failed');
      }
      // Nothing was claimed or stored by the refusals.
      expect(await t.storedMessages(id)).toHaveLength(2);
      await send(id, 'still free');
    });
  });

  describe('switching branch', () => {
    /** one → two, then two edited into TWO: two branches below the first reply. */
    async function branched() {
      const id = await newConversation();
      const one = await send(id, 'one');
      const two = await send(id, 'two');
      const edited = (await edit(id, two.userMessage.id, 'TWO').expect(201)).body as Turn;
      return { id, one, two, edited };
    }

    it('should show the branch below the chosen sibling and continue the next turn from it', async () => {
      const { id, two } = await branched();
      // The user message is not a leaf: the path descends to the newest message below it.
      const res = await switchTo(id, two.userMessage.id).expect(200);
      expect(res.body.currentLeafId).toBe(two.assistantMessage.id);
      expect(await contents(id)).toEqual([
        'one',
        'Echo: one [messages=2]',
        'two',
        'Echo: two [messages=4]',
      ]);

      t.fake.reset();
      await send(id, 'three');
      const prompt = lastPrompt();
      expect(prompt).toEqual([
        'one',
        'Echo: one [messages=2]',
        'two',
        'Echo: two [messages=4]',
        'three',
      ]);
      expect(prompt.join(' ')).not.toContain('TWO');
    });

    it('should descend to the newest leaf of a branch continued later', async () => {
      const { id, one, two, edited } = await branched();
      await switchTo(id, two.userMessage.id).expect(200);
      const three = await send(id, 'three');
      // Back to the edited branch, then to the first reply: its newest leaf is under "two".
      await switchTo(id, edited.assistantMessage.id).expect(200);
      const res = await switchTo(id, one.assistantMessage.id).expect(200);
      expect(res.body.currentLeafId).toBe(three.assistantMessage.id);
    });

    it('should refuse unknown, foreign and malformed ids', async () => {
      const { id } = await branched();
      const other = await newConversation();
      const elsewhere = await send(other, 'elsewhere');
      for (const messageId of [newId(), elsewhere.userMessage.id]) {
        const res = await switchTo(id, messageId).expect(404);
        expect(res.body.error).toBe('message_not_found');
      }
      const bad = await switchTo(id, 'not-a-uuid').expect(400);
      expect(bad.body.error).toBe('validation_failed');
      const missing = await switchTo(newId(), elsewhere.userMessage.id).expect(404);
      expect(missing.body.error).toBe('conversation_not_found');
    });
  });

  describe('one turn at a time', () => {
    it('should answer 409 to regenerate, edit and switch while a turn runs, and accept them after', async () => {
      const id = await newConversation();
      const one = await send(id, 'one');
      let release!: () => void;
      t.fake.script({ kind: 'held', until: new Promise<void>((r) => (release = r)) });
      const running = send(id, 'two');
      await t.fake.waitForRequests(2);

      const refusals = [
        await regenerate(id, one.assistantMessage.id),
        await edit(id, one.userMessage.id, 'uno'),
        await switchTo(id, one.userMessage.id),
      ];
      for (const res of refusals) {
        expect(res.status).toBe(409);
        expect(res.body.error).toBe('conversation_busy');
      }
      // Settings other than the branch may still change.
      await t.http.patch(`${BASE}/${id}`).set(A).send({ title: 'Renamed' }).expect(200);
      release();
      await running;
      await switchTo(id, one.userMessage.id).expect(200);
      await regenerate(id, one.assistantMessage.id).expect(201);
    });

    it("should count regenerates in the owner's limit on replies at once", async () => {
      const ids = [await newConversation(), await newConversation(), await newConversation()];
      const first = await send(ids[2], 'hello');
      let release!: () => void;
      const until = new Promise<void>((r) => (release = r));
      t.fake.script({ kind: 'held', until }, { kind: 'held', until });
      const running = [send(ids[0], 'a'), send(ids[1], 'b')];
      await t.fake.waitForRequests(3);
      const res = await regenerate(ids[2], first.assistantMessage.id);
      expect(res.status).toBe(429);
      expect(res.body.error).toBe('too_many_generations');
      release();
      await Promise.all(running);
    });
  });

  describe('ids and owners', () => {
    it("should answer another owner's conversations and messages as unknown ones", async () => {
      const mine = await newConversation(A);
      const one = await send(mine, 'secret');
      const theirs = await newConversation(B);
      await send(theirs, 'theirs', B);

      const foreignConversation = await regenerate(mine, one.assistantMessage.id, {}, B);
      expect(foreignConversation.status).toBe(404);
      expect(foreignConversation.body.error).toBe('conversation_not_found');
      const cases = [
        await regenerate(theirs, one.assistantMessage.id, {}, B),
        await edit(theirs, one.userMessage.id, 'x', B),
        await switchTo(theirs, one.userMessage.id, B),
        await t.http
          .get(`${BASE}/${theirs}/messages`)
          .set(B)
          .query({ leafId: one.assistantMessage.id }),
      ];
      for (const res of cases) {
        expect(res.status).toBe(404);
        expect(res.body.error).toBe('message_not_found');
      }
      expect(JSON.stringify(cases.map((c) => c.body))).not.toContain('secret');
      expect(await contents(mine)).toEqual(['secret', 'Echo: secret [messages=2]']);
    });

    it('should refuse malformed and unknown message ids with stable codes', async () => {
      const id = await newConversation();
      await send(id, 'one');
      const malformed = await regenerate(id, 'nope').expect(400);
      expect(malformed.body.error).toBe('validation_failed');
      const unknown = await regenerate(id, newId()).expect(404);
      expect(unknown.body.error).toBe('message_not_found');
      const withText = await post(`/${id}/messages/${newId()}/regenerate`, { message: 'x' });
      expect(withText.status).toBe(400);
      const badLeaf = await t.http
        .get(`${BASE}/${id}/messages`)
        .set(A)
        .query({ leafId: 'x' })
        .expect(400);
      expect(badLeaf.body.error).toBe('validation_failed');
    });
  });

  describe('reading a long path', () => {
    it('should page through a 1,000-message path exactly once, and through another branch', async () => {
      const id = await newConversation();
      const ids = await seedPath(t.prisma, id, alternating(1000));
      // Branch at message 500 (a user message): the current path is 500 + 2 messages long.
      await edit(id, ids[500], 'branch').expect(201);

      const read = async (query: Record<string, string> = {}) => {
        const seen: string[] = [];
        let cursor: string | null = null;
        do {
          const page = await path(id, { ...query, limit: 100, ...(cursor && { cursor }) });
          seen.push(...page.data.map((m) => m.content));
          cursor = page.nextCursor;
        } while (cursor);
        return seen;
      };
      const current = await read();
      expect(current).toHaveLength(502);
      expect(current.slice(0, 500)).toEqual(alternating(500).map((m) => m.content));
      expect(current[500]).toBe('branch');
      expect(current[501]).toMatch(/^Echo: branch /);
      const old = await read({ leafId: ids[999] });
      expect(old).toEqual(alternating(1000).map((m) => m.content));
    });
  });

  describe('streams of other doors', () => {
    it('should keep the plain send stream and resume working on a branched conversation', async () => {
      const id = await newConversation();
      const one = await send(id, 'one');
      await regenerate(id, one.assistantMessage.id).expect(201);
      t.fake.script({ kind: 'streamSlow', chunkDelayMs: 30 });
      const stream: SseStream = await t.openStream(id, 'two', { headers: A });
      const first = await stream.waitFor('message.delta');
      const resumed = await openSse(`${t.url}${BASE}/${id}/generation/events`, {
        method: 'GET',
        headers: { ...A, 'Last-Event-ID': first.id! },
      });
      await Promise.all([stream.ended, resumed.ended]);
      expect(streamedText(stream.events)).toBe(streamedText([first, ...resumed.events]));
      await waitUntil(async () => (await contents(id)).length === 4);
    });
  });
});
