import http from 'node:http';
import type { Readable } from 'node:stream';

import { newId } from '../src/common/ids';
import { AccountExportService } from '../src/conversations/export/account-export.service';
import { ConversationExportRepository } from '../src/conversations/export/conversation-export.repository';
import { CONVERSATIONS, waitUntil, withTestApp } from './utils/harness';
import { twoOwners } from './utils/owners';

const EXPORT = '/api/v1/export';
const FILES = '/api/v1/files';
const { keyA: aliceKey, keyB: bobKey, env: owners } = twoOwners();
const ALICE = { 'X-API-Key': aliceKey };
const BOB = { 'X-API-Key': bobKey };

interface Entry {
  conversation: { id: string; title: string | null; archived: boolean };
  messages: { id: string; content: string; parentId: string | null }[];
}

describe('Account export: GET /api/v1/export', () => {
  const t = withTestApp({ env: { ...owners } });

  beforeEach(async () => {
    await t.prisma.conversation.deleteMany();
  });

  async function chat(headers: Record<string, string>, title: string, ...messages: string[]) {
    const id = await t.createConversation({ title }, headers);
    for (const message of messages) await t.send(id, message, { headers });
    return id;
  }

  const download = (query: string, headers = ALICE) =>
    t.http.get(`${EXPORT}${query}`).set(headers).buffer(true).expect(200);
  const ownExport = async (id: string, query = '') =>
    (await t.http.get(`${CONVERSATIONS}/${id}/export${query}`).set(ALICE).buffer(true).expect(200))
      .text;

  it('should export every conversation of the owner, archived and branched, as its own export has it', async () => {
    const lisbon = await chat(ALICE, 'Lisbon', 'one', 'two');
    const branched = await chat(ALICE, 'Branches', 'first');
    const [first] = await t.storedMessages(branched);
    await t.http
      .post(`${CONVERSATIONS}/${branched}/messages/${first.id}/edit`)
      .set(ALICE)
      .send({ message: 'primero' })
      .expect(201);
    const archived = await chat(ALICE, 'Old', 'archived words');
    await t.http
      .patch(`${CONVERSATIONS}/${archived}`)
      .set(ALICE)
      .send({ archived: true })
      .expect(200);
    const bobs = await chat(BOB, 'Bob private', 'bob secret');

    const before = new Date().toISOString().slice(0, 10);
    const res = await download('');
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.headers['content-disposition']).toMatch(
      /^attachment; filename="chat-export-\d{4}-\d{2}-\d{2}\.json"$/,
    );
    expect(res.headers['content-disposition']).toContain(before);
    const document = JSON.parse(res.text);
    expect(Date.parse(document.exportedAt)).toBeLessThanOrEqual(Date.now());
    const entries: Entry[] = document.conversations;
    // Oldest first, each exactly what GET /conversations/{id}/export gives.
    expect(entries.map((e) => e.conversation.id)).toEqual([lisbon, branched, archived]);
    for (const entry of entries)
      expect(entry).toEqual(JSON.parse(await ownExport(entry.conversation.id)));
    expect(entries[2].conversation.archived).toBe(true);
    expect(entries[1].messages.map((m) => m.content)).toEqual([
      'first',
      'Echo: first [messages=2]',
      'primero',
      'Echo: primero [messages=2]',
    ]);
    expect(document.files).toBeUndefined();
    expect(res.text).not.toContain(bobs);
    expect(res.text).not.toContain('bob secret');

    const bobsDocument = JSON.parse((await download('', BOB)).text);
    expect(bobsDocument.conversations.map((e: Entry) => e.conversation.id)).toEqual([bobs]);
  });

  it('should write markdown as each conversation shows, one after another', async () => {
    const lisbon = await chat(ALICE, 'Lisbon', 'one');
    const tea = await chat(ALICE, 'Tea', 'green or black?');
    await chat(BOB, 'Bob private', 'bob secret');

    const res = await download('?format=markdown');
    expect(res.headers['content-type']).toBe('text/markdown; charset=utf-8');
    expect(res.headers['content-disposition']).toMatch(/filename="chat-export-[\d-]{10}\.md"$/);
    const head = /^# Chat export\n\n- exported: (\S+)\n/.exec(res.text);
    expect(head).not.toBeNull();
    const own = [
      await ownExport(lisbon, '?format=markdown'),
      await ownExport(tea, '?format=markdown'),
    ];
    expect(res.text).toBe(`${head![0]}\n${own[0]}\n${own[1]}`);
    expect(res.text).not.toContain('bob secret');
  });

  it('should embed each attached file once for the whole account with include=files', async () => {
    const upload = async (text: string, name: string, headers = ALICE) => {
      const res = await t.http
        .post(FILES)
        .set(headers)
        .attach('file', Buffer.from(text), { filename: name, contentType: 'text/plain' })
        .expect(201);
      const id = res.body.id as string;
      await waitUntil(
        async () => (await t.http.get(`${FILES}/${id}`).set(headers)).body.status === 'ready',
        20_000,
      );
      return id;
    };
    const [notes, recipe, unattached] = [
      await upload('The secret word is pelican.', 'notes.txt'),
      await upload('Steep for three minutes.', 'recipe.txt'),
      await upload('Never attached.', 'loose.txt'),
    ];
    const bobsFile = await upload('Bob keeps this.', 'bob.txt', BOB);
    const withFiles = async (headers: Record<string, string>, attachments: string[]) => {
      const id = await t.createConversation({}, headers);
      await t.http
        .post(`${CONVERSATIONS}/${id}/messages`)
        .set(headers)
        .send({ message: 'Keep these', attachments })
        .expect(201);
    };
    await withFiles(ALICE, [notes, recipe]);
    await withFiles(ALICE, [notes]);
    await withFiles(BOB, [bobsFile]);

    const document = JSON.parse((await download('?include=files')).text);
    expect(document.conversations).toHaveLength(2);
    const files: { id: string; filename: string; data: string }[] = document.files;
    expect(files.map((f) => f.id)).toEqual([notes, recipe].sort());
    const byId = new Map(files.map((f) => [f.id, f]));
    expect(Buffer.from(byId.get(notes)!.data, 'base64').toString()).toBe(
      'The secret word is pelican.',
    );
    expect(byId.get(recipe)!.filename).toBe('recipe.txt');
    expect(files.map((f) => f.id)).not.toContain(unattached);
    expect(files.map((f) => f.id)).not.toContain(bobsFile);

    const refused = await t.http
      .get(`${EXPORT}?format=markdown&include=files`)
      .set(ALICE)
      .expect(400);
    expect(refused.body.error).toBe('validation_failed');
  });

  it('should give an account without conversations a valid empty document', async () => {
    await chat(BOB, 'Bob only', 'hello');
    const json = JSON.parse((await download('?include=files')).text);
    expect(Object.keys(json).sort()).toEqual(['conversations', 'exportedAt', 'files']);
    expect(json.conversations).toEqual([]);
    expect(json.files).toEqual([]);
    const markdown = (await download('?format=markdown')).text;
    expect(markdown).toMatch(/^# Chat export\n\n- exported: \S+\n$/);
  });

  it('should refuse a bad format, and open by the query token as a browser link does', async () => {
    const bad = await t.http.get(`${EXPORT}?format=pdf`).set(ALICE).expect(400);
    expect(bad.body.error).toBe('validation_failed');
    expect(bad.body.message).toContain('format must be json or markdown');
    await t.http.get(EXPORT).expect(401);
    await chat(ALICE, 'Linked', 'hi');
    const linked = await t.http
      .get(`${EXPORT}?format=markdown&access_token=${encodeURIComponent(aliceKey)}`)
      .buffer(true)
      .expect(200);
    expect(linked.text).toContain('# Linked');
  });

  it('should stop reading when the client stops reading, and end when it disconnects', async () => {
    // ~25 MB of messages: far more than the socket buffers between the app and the client.
    const conversations = 300;
    const perConversation = 20;
    const ids = Array.from({ length: conversations }, () => newId());
    await t.prisma.conversation.createMany({
      data: ids.map((id) => ({ id, ownerId: 'alice', title: `bulk ${id}` })),
    });
    const text = 'lorem ipsum '.repeat(350);
    await t.prisma.message.createMany({
      data: ids.flatMap((conversationId) =>
        Array.from({ length: perConversation }, (_, seq) => ({
          id: newId(),
          conversationId,
          seq,
          role: seq % 2 === 0 ? ('user' as const) : ('assistant' as const),
          content: `${seq} ${text}`,
        })),
      ),
    });
    const pages = jest.spyOn(
      t.nest.get(ConversationExportRepository, { strict: false }),
      'pageOfMessages',
    );
    const opened = jest.spyOn(t.nest.get(AccountExportService, { strict: false }), 'open');
    try {
      const req = http.get(`${t.url}${EXPORT}`, { headers: ALICE });
      req.on('error', () => undefined);
      const res = await new Promise<http.IncomingMessage>((resolve) => req.on('response', resolve));
      expect(res.statusCode).toBe(200);
      await new Promise((resolve) => res.once('data', resolve));
      res.pause();

      // The client reads nothing more: the app stops reading once the buffers are full.
      let reads = -1;
      await waitUntil(async () => {
        const now = pages.mock.calls.length;
        const settled = now === reads;
        reads = now;
        if (!settled) await new Promise((resolve) => setTimeout(resolve, 300));
        return settled;
      }, 15_000);
      expect(reads).toBeGreaterThan(0);
      expect(reads).toBeLessThan(conversations);

      req.destroy();
      const body = (opened.mock.results[0].value as { body: Readable }).body;
      await waitUntil(() => body.destroyed, 5000);
      expect(body.readableEnded).toBe(false);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(pages.mock.calls.length).toBe(reads);
    } finally {
      pages.mockRestore();
      opened.mockRestore();
    }
  });
});
