import { newId } from '../src/common/ids';
import { CONVERSATIONS, withTestApp } from './utils/harness';
import { twoOwners } from './utils/owners';

const { keyA: aliceKey, keyB: bobKey, env: owners } = twoOwners();
const ALICE = { 'X-API-Key': aliceKey };
const BOB = { 'X-API-Key': bobKey };

interface Item {
  id: string;
  title: string | null;
  match?: { snippet: string; rank: number; messageId: string | null };
}

describe('Conversation library: feedback, search, archive and pin, export', () => {
  const t = withTestApp({
    env: {
      ...owners,
    },
  });

  beforeEach(async () => {
    await t.prisma.conversation.deleteMany();
  });

  async function list(
    query: string,
    headers = ALICE,
  ): Promise<{ data: Item[]; nextCursor: string | null }> {
    return (await t.http.get(`${CONVERSATIONS}?${query}`).set(headers).expect(200)).body;
  }

  async function chat(
    headers: Record<string, string>,
    body: Record<string, unknown>,
    ...messages: string[]
  ) {
    const id = await t.createConversation(body, headers);
    for (const message of messages) await t.send(id, message, { headers });
    return id;
  }

  async function metric(prefix: string): Promise<number> {
    const text = (await t.http.get('/metrics').expect(200)).text;
    const line = text.split('\n').find((l) => l.startsWith(prefix));
    return line ? Number(line.split(' ')[1]) : 0;
  }

  describe('feedback', () => {
    it('should rate a reply, show it on the message, replace it and remove it', async () => {
      const id = await chat(ALICE, {}, 'Rate me');
      const [user, reply] = await t.storedMessages(id);
      const path = `${CONVERSATIONS}/${id}/messages/${reply.id}/feedback`;
      const counted = 'message_feedback_total{alias="lmstudio/default",rating="up"}';
      const before = await metric(counted);

      const put = await t.http
        .put(path)
        .set(ALICE)
        .send({ rating: 'up', comment: 'Spot on' })
        .expect(200);
      expect(put.body).toMatchObject({ messageId: reply.id, rating: 'up', comment: 'Spot on' });
      let messages = (await t.http.get(`${CONVERSATIONS}/${id}/messages`).set(ALICE).expect(200))
        .body.data;
      expect(messages.map((m: { feedback: unknown }) => m.feedback)).toEqual([
        null,
        { rating: 'up', comment: 'Spot on', updatedAt: put.body.updatedAt },
      ]);
      expect(await metric(counted)).toBe(before + 1);

      await t.http.put(path).set(ALICE).send({ rating: 'down' }).expect(200);
      messages = (await t.http.get(`${CONVERSATIONS}/${id}/messages`).set(ALICE).expect(200)).body
        .data;
      expect(messages[1].feedback).toMatchObject({ rating: 'down', comment: null });

      await t.http.delete(path).set(ALICE).expect(204);
      await t.http.delete(path).set(ALICE).expect(204);
      messages = (await t.http.get(`${CONVERSATIONS}/${id}/messages`).set(ALICE).expect(200)).body
        .data;
      expect(messages[1].feedback).toBeNull();
      expect(user.role).toBe('user');
    });

    it('should refuse user messages, and answer 404 for another owner, conversation or id', async () => {
      const id = await chat(ALICE, {}, 'Rate me');
      const other = await chat(ALICE, {}, 'Another');
      const [user, reply] = await t.storedMessages(id);
      const path = (conversation: string, message: string) =>
        `${CONVERSATIONS}/${conversation}/messages/${message}/feedback`;

      const onUser = await t.http
        .put(path(id, user.id))
        .set(ALICE)
        .send({ rating: 'up' })
        .expect(422);
      expect(onUser.body.error).toBe('not_an_assistant_message');
      for (const [headers, conversation, message] of [
        [BOB, id, reply.id],
        [ALICE, other, reply.id],
        [ALICE, id, newId()],
      ] as const) {
        const res = await t.http
          .put(path(conversation, message))
          .set(headers)
          .send({ rating: 'up' })
          .expect(404);
        expect(res.body.error).toBe('message_not_found');
        await t.http.delete(path(conversation, message)).set(headers).expect(404);
      }
      const bad = await t.http
        .put(path(id, reply.id))
        .set(ALICE)
        .send({ rating: 'meh', comment: 'x'.repeat(2001) })
        .expect(400);
      expect(bad.body.error).toBe('validation_failed');
      expect(bad.body.details.map((d: { field: string }) => d.field).sort()).toEqual([
        'comment',
        'rating',
      ]);
      expect((await t.storedMessages(id))[1].feedbackRating).toBeNull();
    });
  });

  describe('search', () => {
    it('should rank matches, snippet them, and search only the owner’s conversations', async () => {
      const titled = await chat(ALICE, { title: 'Lisbon trip' }, 'hello');
      const often = await chat(ALICE, {}, 'lisbon lisbon lisbon and more lisbon');
      const once = await chat(
        ALICE,
        {},
        'a long day, then one evening in lisbon with friends and food',
      );
      await chat(ALICE, { title: 'Porto' }, 'nothing to see');
      const bobs = await chat(BOB, { title: 'Lisbon' }, 'lisbon again');

      const { data, nextCursor } = await list('q=lisbon');
      expect(data.map((c) => c.id)).toEqual([titled, often, once]);
      expect(nextCursor).toBeNull();
      const ranks = data.map((c) => c.match!.rank);
      expect(ranks).toEqual([...ranks].sort((a, b) => b - a));
      expect(data[0].match).toEqual({
        snippet: '**Lisbon** trip',
        rank: ranks[0],
        messageId: null,
      });
      expect(data[2].match!.snippet).toContain('evening in **lisbon** with friends');
      const onceMessages = await t.storedMessages(once);
      expect(onceMessages.map((m) => m.id)).toContain(data[2].match!.messageId);

      expect((await list('q=lisbon', BOB)).data.map((c) => c.id)).toEqual([bobs]);
      // Web-search syntax: a word excluded, a phrase.
      expect((await list('q=lisbon%20-trip')).data.map((c) => c.id).sort()).toEqual(
        [often, once].sort(),
      );
      expect(
        (await list(`q=${encodeURIComponent('"evening in lisbon"')}`)).data.map((c) => c.id),
      ).toEqual([once]);
      expect((await list('q=madrid')).data).toEqual([]);
    });

    it('should page through ranked results with cursors bound to the query', async () => {
      const ids = [];
      for (let i = 1; i <= 5; i++) ids.push(await chat(ALICE, {}, `${'tram '.repeat(i)}stop`));
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: { data: Item[]; nextCursor: string | null } = await list(
          `q=tram&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        );
        seen.push(...page.data.map((c) => c.id));
        cursor = page.nextCursor;
      } while (cursor);
      expect(seen).toEqual((await list('q=tram')).data.map((c) => c.id));
      expect(new Set(seen).size).toBe(5);
      expect(seen[0]).toBe(ids[4]); // the most mentions first

      const first = await list('q=tram&limit=2');
      const wrong = await t.http
        .get(`${CONVERSATIONS}?q=stop&cursor=${first.nextCursor}`)
        .set(ALICE)
        .expect(400);
      expect(wrong.body.error).toBe('invalid_cursor');
      const blank = await t.http.get(`${CONVERSATIONS}?q=%20`).set(ALICE).expect(400);
      expect(blank.body.error).toBe('validation_failed');
    });
  });

  describe('archive and pin', () => {
    it('should hide archived ones from the default list, list pinned first, and filter both', async () => {
      const [a, b, c, d] = [
        await chat(ALICE, { title: 'a' }),
        await chat(ALICE, { title: 'b' }),
        await chat(ALICE, { title: 'c' }),
        await chat(ALICE, { title: 'd' }),
      ];
      const patched = await t.http
        .patch(`${CONVERSATIONS}/${a}`)
        .set(ALICE)
        .send({ pinned: true })
        .expect(200);
      expect(patched.body).toMatchObject({ pinned: true, archived: false });
      await t.http.patch(`${CONVERSATIONS}/${c}`).set(ALICE).send({ archived: true }).expect(200);

      expect((await list('')).data.map((x) => x.id)).toEqual([a, d, b]);
      expect((await list('archived=true')).data.map((x) => x.id)).toEqual([c]);
      expect((await list('pinned=true')).data.map((x) => x.id)).toEqual([a]);
      expect((await list('pinned=false')).data.map((x) => x.id)).toEqual([d, b]);

      // Pages cross from pinned to unpinned without losing or repeating any.
      const first = await list('limit=1');
      const second = await list(`limit=1&cursor=${first.nextCursor}`);
      const third = await list(`limit=1&cursor=${second.nextCursor}`);
      expect([first, second, third].map((p) => p.data[0].id)).toEqual([a, d, b]);
      expect(third.nextCursor).toBeNull();

      // Search follows the same filters.
      await t.http
        .patch(`${CONVERSATIONS}/${d}`)
        .set(ALICE)
        .send({ title: 'tagus ferry', archived: true })
        .expect(200);
      expect((await list('q=tagus')).data).toEqual([]);
      expect((await list('q=tagus&archived=true')).data.map((x) => x.id)).toEqual([d]);

      const bad = await t.http
        .get(`${CONVERSATIONS}?archived=maybe&pinned=2`)
        .set(ALICE)
        .expect(400);
      expect(bad.body.details.map((x: { field: string }) => x.field).sort()).toEqual([
        'archived',
        'pinned',
      ]);
      const badPatch = await t.http
        .patch(`${CONVERSATIONS}/${a}`)
        .set(ALICE)
        .send({ pinned: 'yes' })
        .expect(400);
      expect(badPatch.body.error).toBe('validation_failed');
    });
  });

  describe('export', () => {
    it('should download json and markdown with a file name, 404 for another owner', async () => {
      const id = await chat(
        ALICE,
        { title: 'Lisbon trip', systemPrompt: 'Be brief.' },
        'one',
        'two',
      );
      const [, reply] = await t.storedMessages(id);
      await t.http
        .put(`${CONVERSATIONS}/${id}/messages/${reply.id}/feedback`)
        .set(ALICE)
        .send({ rating: 'up' })
        .expect(200);

      const json = await t.http.get(`${CONVERSATIONS}/${id}/export`).set(ALICE).expect(200);
      expect(json.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(json.headers['content-disposition']).toBe(
        `attachment; filename="lisbon-trip-${id}.json"`,
      );
      const document = JSON.parse(json.text);
      expect(document.conversation).toMatchObject({
        id,
        title: 'Lisbon trip',
        systemPrompt: 'Be brief.',
      });
      expect(
        document.messages.map((m: { role: string; content: string }) => [m.role, m.content]),
      ).toEqual([
        ['user', 'one'],
        ['assistant', 'Echo: one [messages=2]'],
        ['user', 'two'],
        ['assistant', 'Echo: two [messages=4]'],
      ]);
      expect(document.messages[1].feedback).toMatchObject({ rating: 'up' });

      const md = await t.http
        .get(`${CONVERSATIONS}/${id}/export?format=markdown`)
        .set(ALICE)
        .expect(200);
      expect(md.headers['content-type']).toBe('text/markdown; charset=utf-8');
      expect(md.headers['content-disposition']).toBe(`attachment; filename="lisbon-trip-${id}.md"`);
      expect(md.text).toMatch(/^# Lisbon trip\n\n- id: /);
      expect(md.text).toContain(
        '\n\n## System prompt\n\nBe brief.\n\n## User\n\none\n\n## Assistant (lmstudio/default)\n\nEcho: one [messages=2]\n',
      );
      expect(md.text.endsWith('Echo: two [messages=4]\n')).toBe(true);

      const other = await t.http.get(`${CONVERSATIONS}/${id}/export`).set(BOB).expect(404);
      expect(other.body.error).toBe('conversation_not_found');
      const bad = await t.http
        .get(`${CONVERSATIONS}/${id}/export?format=pdf`)
        .set(ALICE)
        .expect(400);
      expect(bad.body.error).toBe('validation_failed');
    });

    it('should export the whole tree as json and the current path as markdown', async () => {
      const id = await chat(ALICE, { title: 'Branches' }, 'one');
      const [first] = await t.storedMessages(id);
      await t.http
        .post(`${CONVERSATIONS}/${id}/messages/${first.id}/edit`)
        .set(ALICE)
        .send({ message: 'uno' })
        .expect(201);

      const json = await t.http.get(`${CONVERSATIONS}/${id}/export`).set(ALICE).expect(200);
      const messages: { id: string; parentId: string | null; content: string }[] = JSON.parse(
        json.text,
      ).messages;
      expect(messages.map((m) => m.content)).toEqual([
        'one',
        'Echo: one [messages=2]',
        'uno',
        'Echo: uno [messages=2]',
      ]);
      const byContent = new Map(messages.map((m) => [m.content, m]));
      expect(byContent.get('one')!.parentId).toBeNull();
      expect(byContent.get('uno')!.parentId).toBeNull();
      expect(byContent.get('Echo: uno [messages=2]')!.parentId).toBe(byContent.get('uno')!.id);

      const md = await t.http
        .get(`${CONVERSATIONS}/${id}/export?format=markdown`)
        .set(ALICE)
        .expect(200);
      expect(md.text).toContain('## User\n\nuno\n');
      expect(md.text).not.toContain('## User\n\none\n');
    });

    it('should stream a long conversation in order, batch after batch', async () => {
      const id = await t.createConversation({}, ALICE);
      const count = 1234;
      await t.prisma.message.createMany({
        data: Array.from({ length: count }, (_, seq) => ({
          id: newId(),
          conversationId: id,
          seq,
          role: seq % 2 === 0 ? ('user' as const) : ('assistant' as const),
          content: `message ${seq}`,
        })),
      });
      const res = await t.http.get(`${CONVERSATIONS}/${id}/export`).set(ALICE).expect(200);
      expect(res.headers['transfer-encoding']).toBe('chunked');
      const seqs = JSON.parse(res.text).messages.map((m: { seq: number }) => m.seq);
      expect(seqs).toEqual(Array.from({ length: count }, (_, seq) => seq));
    });
  });
});
