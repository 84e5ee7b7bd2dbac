import { newId } from '../src/common/ids';
import { CONVERSATIONS as BASE, withTestApp } from './utils/harness';
import { alternating, seedPath } from './utils/seed';
import { startTestApp } from './utils/test-app';

describe('Conversations API', () => {
  const t = withTestApp({ fake: false, env: { BODY_LIMIT_BYTES: '65536' } });

  beforeEach(async () => {
    await t.prisma.conversation.deleteMany();
  });

  function expectError(body: Record<string, unknown>, status: number, code: string): void {
    expect(body).toMatchObject({ statusCode: status, error: code });
    expect(typeof body.message).toBe('string');
    expect(typeof body.correlationId).toBe('string');
    expect(body.correlationId).not.toBe('');
  }

  describe('create and read', () => {
    it('should create a conversation with no body at all', async () => {
      const res = await t.http.post(BASE).expect(201);
      expect(res.body).toMatchObject({ title: null, systemPrompt: null, model: null, params: {} });
      expect(res.body.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(res.body.id[14]).toBe('7'); // UUIDv7: time-ordered
    });

    it('should store every field and return it on GET', async () => {
      const body = {
        title: 'Trip',
        systemPrompt: 'Be brief.',
        model: 'lmstudio/default',
        params: { temperature: 0.2, topP: 0.9, maxTokens: 256, seed: 7 },
      };
      const created = await t.http.post(BASE).send(body).expect(201);
      const fetched = await t.http.get(`${BASE}/${created.body.id}`).expect(200);
      expect(fetched.body).toEqual(created.body);
      expect(fetched.body).toMatchObject(body);
    });

    it('should answer 404 conversation_not_found for an unknown id', async () => {
      const res = await t.http.get(`${BASE}/${newId()}`).expect(404);
      expectError(res.body, 404, 'conversation_not_found');
    });

    it('should answer 400 for a non-UUID id on every route', async () => {
      for (const [method, path] of [
        ['get', `${BASE}/not-a-uuid`],
        ['patch', `${BASE}/not-a-uuid`],
        ['delete', `${BASE}/not-a-uuid`],
        ['get', `${BASE}/not-a-uuid/messages`],
      ] as const) {
        const res = await t.http[method](path).send({}).expect(400);
        expectError(res.body, 400, 'validation_failed');
        expect(res.body.details[0].field).toBe('id');
      }
    });
  });

  describe('bad input', () => {
    it('should answer 400 invalid_json for malformed JSON, with a correlation id', async () => {
      const res = await t.http
        .post(BASE)
        .set('Content-Type', 'application/json')
        .set('X-Correlation-ID', 'req-123')
        .send('{"title": ')
        .expect(400);
      expectError(res.body, 400, 'invalid_json');
      expect(res.body.correlationId).toBe('req-123');
      expect(res.headers['x-correlation-id']).toBe('req-123');
    });

    it('should list each offending field for wrong types and unknown fields', async () => {
      const res = await t.http
        .post(BASE)
        .send({ title: 42, params: { temperature: 'hot', maxTokens: 1.5 }, admin: true })
        .expect(400);
      expectError(res.body, 400, 'validation_failed');
      const fields = (res.body.details as { field: string }[]).map((d) => d.field).sort();
      expect(fields).toEqual(['admin', 'params.maxTokens', 'params.temperature', 'title']);
    });

    it('should refuse empty, blank and oversized titles and system prompts', async () => {
      for (const body of [
        { title: '' },
        { title: '   ' },
        { title: 'x'.repeat(201) },
        { systemPrompt: '' },
        { systemPrompt: 'x'.repeat(20_001) },
        { model: 'no-slash' },
        { params: { temperature: 3 } },
      ]) {
        const res = await t.http.post(BASE).send(body);
        expect(res.status).toBe(400);
        expectError(res.body, 400, 'validation_failed');
      }
      expect(await t.prisma.conversation.count()).toBe(0);
    });

    it('should answer 413 payload_too_large for a body over the limit', async () => {
      const res = await t.http
        .post(BASE)
        .send({ systemPrompt: 'x'.repeat(70_000) })
        .expect(413);
      expectError(res.body, 413, 'payload_too_large');
    });

    it('should answer 404 not_found with the error body for an unknown route', async () => {
      const res = await t.http.get('/api/v1/nothing-here').expect(404);
      expectError(res.body, 404, 'not_found');
    });

    it('should replace a hostile correlation id with a generated one', async () => {
      const res = await t.http
        .get(`${BASE}/${newId()}`)
        .set('X-Correlation-ID', 'evil\tvalue<script>');
      expect(res.body.correlationId).toMatch(/^[0-9a-f-]{36}$/);
      expect(res.headers['x-correlation-id']).toBe(res.body.correlationId);
    });
  });

  describe('list and pagination', () => {
    async function createMany(n: number): Promise<string[]> {
      const ids: string[] = [];
      for (let i = 0; i < n; i++)
        ids.push(
          (
            await t.http
              .post(BASE)
              .send({ title: `c${i}` })
              .expect(201)
          ).body.id,
        );
      return ids;
    }

    it('should page through every conversation exactly once, newest activity first', async () => {
      const ids = await createMany(7);
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const query: Record<string, string | number> = { limit: 3, ...(cursor && { cursor }) };
        const res = await t.http.get(BASE).query(query).expect(200);
        seen.push(...res.body.data.map((c: { id: string }) => c.id));
        cursor = res.body.nextCursor;
        pages++;
      } while (cursor);
      expect(pages).toBe(3);
      expect(seen).toEqual([...ids].reverse());
    });

    it('should keep a stable order when activity timestamps tie', async () => {
      const ids = await createMany(4);
      const same = new Date('2026-01-01T00:00:00Z');
      await t.prisma.conversation.updateMany({ data: { lastMessageAt: same } });
      const first = await t.http.get(BASE).query({ limit: 2 }).expect(200);
      const second = await t.http
        .get(BASE)
        .query({ limit: 2, cursor: first.body.nextCursor })
        .expect(200);
      const all = [...first.body.data, ...second.body.data].map((c: { id: string }) => c.id);
      expect(all).toEqual([...ids].sort().reverse());
      expect(second.body.nextCursor).toBeNull();
    });

    it('should ignore unknown query parameters and read 1 and 0 as booleans', async () => {
      const [kept, archived] = await createMany(2);
      await t.http.patch(`${BASE}/${archived}`).send({ archived: true }).expect(200);
      const ids = async (query: Record<string, string>) =>
        (await t.http.get(BASE).query(query).expect(200)).body.data.map(
          (c: { id: string }) => c.id,
        );
      expect(await ids({ _: '1700000000000', utm_source: 'x' })).toEqual([kept]);
      expect(await ids({ archived: '1' })).toEqual([archived]);
      expect(await ids({ archived: '0', pinned: '0' })).toEqual([kept]);
      await t.http.get(`${BASE}/${kept}/messages`).query({ _: '123' }).expect(200);
      // Bodies still refuse what they do not know.
      await t.http.patch(`${BASE}/${kept}`).send({ _: 1 }).expect(400);
    });

    it('should refuse limits out of range', async () => {
      for (const limit of ['0', '101', '-1', 'abc', '2.5']) {
        const res = await t.http.get(BASE).query({ limit });
        expect(res.status).toBe(400);
        expectError(res.body, 400, 'validation_failed');
      }
    });

    it('should refuse forged and foreign cursors with 400 invalid_cursor', async () => {
      const conversation = await t.http.post(BASE).send({}).expect(201);
      const messagesCursor = Buffer.from(
        JSON.stringify({ kind: 'messages', conversationId: conversation.body.id, seq: 1 }),
      ).toString('base64url');
      for (const cursor of [
        'garbage!!',
        Buffer.from('{"kind":"conversations"}').toString('base64url'),
        messagesCursor,
      ]) {
        const res = await t.http.get(BASE).query({ cursor }).expect(400);
        expectError(res.body, 400, 'invalid_cursor');
      }
      const other = await t.http.post(BASE).send({}).expect(201);
      const res = await t.http
        .get(`${BASE}/${other.body.id}/messages`)
        .query({ cursor: messagesCursor })
        .expect(400);
      expectError(res.body, 400, 'invalid_cursor');
    });
  });

  describe('update and delete', () => {
    it('should change only the fields sent and clear fields set to null', async () => {
      const created = await t.http
        .post(BASE)
        .send({ title: 'A', systemPrompt: 'S', params: { temperature: 0.5 } })
        .expect(201);
      const patched = await t.http
        .patch(`${BASE}/${created.body.id}`)
        .send({ title: 'B' })
        .expect(200);
      expect(patched.body).toMatchObject({
        title: 'B',
        systemPrompt: 'S',
        params: { temperature: 0.5 },
      });
      const cleared = await t.http
        .patch(`${BASE}/${created.body.id}`)
        .send({ systemPrompt: null, params: null })
        .expect(200);
      expect(cleared.body).toMatchObject({ title: 'B', systemPrompt: null, params: {} });
      expect(Date.parse(cleared.body.updatedAt)).toBeGreaterThanOrEqual(
        Date.parse(created.body.updatedAt),
      );
    });

    it('should validate PATCH bodies like POST bodies', async () => {
      const created = await t.http.post(BASE).send({}).expect(201);
      const res = await t.http
        .patch(`${BASE}/${created.body.id}`)
        .send({ title: '', extra: 1 })
        .expect(400);
      expectError(res.body, 400, 'validation_failed');
      await t.http.patch(`${BASE}/${newId()}`).send({ title: 'x' }).expect(404);
    });

    it('should delete a conversation with its messages, then answer 404', async () => {
      const created = await t.http.post(BASE).send({}).expect(201);
      const id = created.body.id as string;
      await t.prisma.message.create({
        data: { id: newId(), conversationId: id, seq: 0, role: 'user', content: 'hello' },
      });
      await t.http.delete(`${BASE}/${id}`).expect(204);
      expect(await t.prisma.message.count({ where: { conversationId: id } })).toBe(0);
      await t.http.get(`${BASE}/${id}`).expect(404);
      await t.http.delete(`${BASE}/${id}`).expect(404);
    });
  });

  describe('messages list', () => {
    it('should list messages in sequence order with cursor pagination', async () => {
      const created = await t.http.post(BASE).send({}).expect(201);
      const id = created.body.id as string;
      await seedPath(t.prisma, id, alternating(5));
      const first = await t.http.get(`${BASE}/${id}/messages`).query({ limit: 3 }).expect(200);
      expect(first.body.data.map((m: { content: string }) => m.content)).toEqual([
        'm0',
        'm1',
        'm2',
      ]);
      const second = await t.http
        .get(`${BASE}/${id}/messages`)
        .query({ limit: 3, cursor: first.body.nextCursor })
        .expect(200);
      expect(second.body.data.map((m: { content: string }) => m.content)).toEqual(['m3', 'm4']);
      expect(second.body.nextCursor).toBeNull();
      expect(first.body.data[0]).toMatchObject({
        role: 'user',
        status: 'complete',
        conversationId: id,
        seq: 0,
      });
    });

    it('should page newest first with order=desc, on the current branch and on another', async () => {
      const created = await t.http.post(BASE).send({}).expect(201);
      const id = created.body.id as string;
      const ids = await seedPath(t.prisma, id, alternating(25));
      // Another branch: 25 messages below the first 5 of the current path.
      const other = Array.from({ length: 20 }, () => newId());
      await t.prisma.message.createMany({
        data: other.map((messageId, i) => ({
          id: messageId,
          conversationId: id,
          parentId: i === 0 ? ids[4] : other[i - 1],
          seq: 25 + i,
          role: i % 2 === 0 ? ('assistant' as const) : ('user' as const),
          content: `b${i + 5}`,
        })),
      });
      await t.prisma.conversation.update({ where: { id }, data: { nextSeq: 45 } });

      async function readAll(leafId?: string): Promise<string[][]> {
        const pages: string[][] = [];
        let cursor: string | null = null;
        do {
          const query: Record<string, string | number> = {
            limit: 10,
            order: 'desc',
            ...(leafId && { leafId }),
            ...(cursor && { cursor }),
          };
          const res = await t.http.get(`${BASE}/${id}/messages`).query(query).expect(200);
          expect(res.body.leafId).toBe(leafId ?? ids[24]);
          pages.push(res.body.data.map((m: { content: string }) => m.content));
          cursor = res.body.nextCursor;
        } while (cursor && pages.length < 5);
        return pages;
      }
      const names = (prefix: string, from: number, to: number) =>
        Array.from({ length: from - to + 1 }, (_, i) => `${prefix}${from - i}`);

      expect(await readAll()).toEqual([names('m', 24, 15), names('m', 14, 5), names('m', 4, 0)]);
      expect(await readAll(other.at(-1))).toEqual([
        names('b', 24, 15),
        names('b', 14, 5),
        names('m', 4, 0),
      ]);
      // An oldest-first cursor is not a newest-first one, nor the other way round.
      const asc = await t.http.get(`${BASE}/${id}/messages`).query({ limit: 10 }).expect(200);
      const res = await t.http
        .get(`${BASE}/${id}/messages`)
        .query({ limit: 10, order: 'desc', cursor: asc.body.nextCursor })
        .expect(400);
      expectError(res.body, 400, 'invalid_cursor');
    });

    it('should answer 404 for the messages of an unknown conversation', async () => {
      const res = await t.http.get(`${BASE}/${newId()}/messages`).expect(404);
      expectError(res.body, 404, 'conversation_not_found');
    });
  });

  describe('health and docs', () => {
    it('should report liveness and readiness', async () => {
      const live = await t.http.get('/health').expect(200);
      expect(live.body).toEqual({ status: 'ok', uptimeSeconds: expect.any(Number) });
      const ready = await t.http.get('/health/ready').expect(200);
      expect(ready.body.checks.database.status).toBe('up');
    });

    it('should serve an OpenAPI document covering every endpoint and the error body', async () => {
      const res = await t.http.get('/docs-json').expect(200);
      const paths = Object.keys(res.body.paths);
      expect(paths).toEqual(
        expect.arrayContaining([
          '/api/v1/conversations',
          '/api/v1/conversations/{id}',
          '/api/v1/conversations/{id}/messages',
          '/health',
          '/health/ready',
        ]),
      );
      expect(res.body.components.schemas.ErrorResponseDto.required).toEqual(
        expect.arrayContaining(['statusCode', 'error', 'message', 'correlationId']),
      );
      expect(res.body.paths['/api/v1/conversations/{id}'].get.responses['404']).toBeDefined();
      await t.http.get('/docs').expect(200).expect('Content-Type', /html/);
    });
  });
});

describe('Persistence across restarts', () => {
  describe('on the same database', () => {
    const t = withTestApp({ fake: false });

    it('should serve the same data from a new app instance on the same database', async () => {
      const id = await t.createConversation({ title: 'keep me' });
      await t.close();
      const second = await t.startApp();
      const fetched = await second.http.get(`${BASE}/${id}`).expect(200);
      expect(fetched.body.title).toBe('keep me');
    });
  });

  it('should answer 503 not_ready when the database is unreachable', async () => {
    // Prisma connects lazily through the adapter, so the app starts and readiness reports the outage.
    const app = await startTestApp('postgresql://postgres:postgres@127.0.0.1:1/none');
    try {
      const res = await app.http.get('/health/ready').expect(503);
      expect(res.body).toMatchObject({ statusCode: 503, error: 'not_ready' });
      expect(res.body.message).toMatch(/Database unreachable/);
      await app.http.get('/health').expect(200);
    } finally {
      await app.close();
    }
  });
});

describe('Conversation list items', () => {
  const t = withTestApp();

  /** A stored time as the API writes it (microseconds) starts as Prisma's (milliseconds). */
  const at = (date: Date) => expect.stringMatching(`^${date.toISOString().slice(0, -1)}\\d*Z$`);

  async function listed(id: string, query = '') {
    const res = await t.http.get(`${BASE}?limit=100${query}`).expect(200);
    return (res.body.data as { id: string }[]).find((item) => item.id === id) as unknown as {
      messageCount: number;
      lastMessage: { role: string; preview: string; createdAt: string } | null;
    };
  }

  it('should carry messageCount and the last message of the current path, also after a regenerate', async () => {
    const id = await t.createConversation();
    expect(await listed(id)).toMatchObject({ messageCount: 0, lastMessage: null });

    await t.send(id, 'first question');
    const long = `second ${'x'.repeat(300)}`;
    await t.send(id, long);
    let stored = await t.storedMessages(id);
    let item = await listed(id);
    expect(item.messageCount).toBe(4);
    expect(item.lastMessage).toEqual({
      role: 'assistant',
      preview: stored[3].content.slice(0, 200),
      createdAt: at(stored[3].createdAt),
    });
    expect(stored[3].content.length).toBeGreaterThan(200);

    t.fake.script({ kind: 'reply', content: 'a regenerated answer' });
    await t.http.post(`${BASE}/${id}/messages/${stored[3].id}/regenerate`).send({}).expect(201);
    stored = await t.storedMessages(id);
    item = await listed(id);
    expect(item.messageCount).toBe(5);
    expect(item.lastMessage).toEqual({
      role: 'assistant',
      preview: 'a regenerated answer',
      createdAt: at(stored[4].createdAt),
    });
    // Search results are list items too.
    expect(await listed(id, '&q=regenerated')).toMatchObject(item);
  });

  it('should show the message before a reply that failed without text', async () => {
    const id = await t.createConversation();
    t.fake.script({ kind: 'error', status: 400 });
    await t.send(id, 'this one fails', { expect: 502 });
    const stored = await t.storedMessages(id);
    expect(stored[1]).toMatchObject({ status: 'failed', content: '' });
    expect(await listed(id)).toEqual(
      expect.objectContaining({
        messageCount: 2,
        lastMessage: {
          role: 'user',
          preview: 'this one fails',
          createdAt: at(stored[0].createdAt),
        },
      }),
    );
  });
});
