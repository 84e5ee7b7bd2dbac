import { createHash, randomBytes } from 'node:crypto';

import { passwordProtectedPdf, pdfSaying, PNG_1X1 } from './utils/files';
import { CONVERSATIONS, waitUntil, withTestApp } from './utils/harness';
import { openSse } from './utils/sse';
import { TestSocket } from './utils/ws-client';
import { twoOwners } from './utils/owners';

const FILES = '/api/v1/files';
const VISION = 'test/vision';
const BLIND = 'test/blind';
const SMALL = 'test/small';
const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');
const NOTES = 'The secret word is pelican.';

describe('Attachments: files carried by messages', () => {
  const { keyA, keyB, env: owners } = twoOwners();
  const t = withTestApp({
    env: {
      ...owners,
    },
    models: [
      {
        alias: VISION,
        provider: 'lmstudio',
        model: 'fake-model',
        contextWindow: 8192,
        vision: true,
      },
      { alias: BLIND, provider: 'lmstudio', model: 'fake-model', contextWindow: 8192 },
      {
        alias: SMALL,
        provider: 'lmstudio',
        model: 'fake-model',
        contextWindow: 400,
        maxOutputTokens: 100,
      },
    ],
  });
  const A = { 'X-API-Key': keyA };
  const B = { 'X-API-Key': keyB };

  async function upload(
    bytes: Buffer,
    filename: string,
    headers = A,
    status = 'ready',
  ): Promise<string> {
    const res = await t.http
      .post(FILES)
      .set(headers)
      .attach('file', bytes, { filename, contentType: 'application/octet-stream' })
      .expect(201);
    const id = res.body.id as string;
    await waitUntil(async () => {
      const file = await t.http.get(`${FILES}/${id}`).set(headers).expect(200);
      return file.body.status === status;
    }, 20_000);
    return id;
  }

  const conversation = async (model = VISION): Promise<string> =>
    (await t.http.post(CONVERSATIONS).set(A).send({ model }).expect(201)).body.id as string;

  /** The text of the last user message the fake got (its text part when it has images). */
  const lastUserText = (request = t.fake.requests.at(-1)!): string => {
    const user = request.body.messages.filter((m) => m.role === 'user').at(-1)!;
    return JSON.stringify(user.content);
  };

  it('should show an image and a document to a vision alias, again in later turns, and list them', async () => {
    const [image, notes] = [
      await upload(PNG_1X1, 'dot.png'),
      await upload(Buffer.from(NOTES), 'notes.txt'),
    ];
    const id = await conversation();
    const sent = await t.http
      .post(`${CONVERSATIONS}/${id}/messages`)
      .set(A)
      .send({ message: 'What do you see?', attachments: [image, notes] })
      .expect(201);
    const seen = t.fake.requests.at(-1)!;
    expect(seen.images.map((i) => i.sha256)).toEqual([sha256(PNG_1X1)]);
    expect(lastUserText(seen)).toContain(
      'What do you see?\\n\\n[Attached: notes.txt]\\nThe secret word is pelican.',
    );

    const context = await t.http
      .get(`${CONVERSATIONS}/${id}/messages/${sent.body.assistantMessage.id}/context`)
      .set(A)
      .expect(200);
    expect(context.body.attachments).toEqual([
      { fileId: image, kind: 'image', tokens: 255 },
      { fileId: notes, kind: 'document', tokens: expect.any(Number) },
    ]);
    expect(context.body.userMessage.tokens).toBeGreaterThan(255);

    // The next turn sends the earlier message's files again, with its history.
    await t.http
      .post(`${CONVERSATIONS}/${id}/messages`)
      .set(A)
      .send({ message: 'And now?' })
      .expect(201);
    const next = t.fake.requests.at(-1)!;
    expect(next.images.map((i) => i.sha256)).toEqual([sha256(PNG_1X1)]);
    expect(JSON.stringify(next.body.messages)).toContain('The secret word is pelican.');

    const shown = [
      {
        id: image,
        filename: 'dot.png',
        mimeType: 'image/png',
        bytes: PNG_1X1.length,
        kind: 'image',
      },
      {
        id: notes,
        filename: 'notes.txt',
        mimeType: 'text/plain',
        bytes: NOTES.length,
        kind: 'document',
      },
    ];
    expect(sent.body.userMessage.attachments).toEqual(shown);
    expect(sent.body.assistantMessage.attachments).toEqual([]);
    const list = await t.http.get(`${CONVERSATIONS}/${id}/messages`).set(A).expect(200);
    expect(list.body.data.map((m: { attachments: unknown }) => m.attachments)).toEqual([
      shown,
      [],
      [],
      [],
    ]);
    const exported = await t.http.get(`${CONVERSATIONS}/${id}/export`).set(A).expect(200);
    expect(JSON.parse(exported.text).messages[0].attachments).toEqual(shown);

    const rows = await t.prisma.messageAttachment.findMany({ orderBy: { position: 'asc' } });
    expect(rows.map((r) => [r.messageId, r.fileId, r.position])).toEqual([
      [sent.body.userMessage.id, image, 0],
      [sent.body.userMessage.id, notes, 1],
    ]);
  });

  it('should carry attachments in a stream and over the WebSocket', async () => {
    const image = await upload(PNG_1X1, 'dot.png');
    const id = await conversation();
    const stream = await t.openStream(id, 'streamed', {
      headers: A,
      ...({ attachments: [image] } as object),
    });
    await stream.ended;
    expect(t.fake.requests.at(-1)!.images).toHaveLength(1);

    const other = await conversation();
    const socket = await TestSocket.open(t.url, { headers: A });
    socket.send({
      type: 'message.send',
      conversationId: other,
      message: 'socket',
      attachments: [image],
    });
    await socket.turnEnd(other);
    socket.ws.close();
    const seen = t.fake.requests.at(-1)!;
    expect(seen.images.map((i) => i.sha256)).toEqual([sha256(PNG_1X1)]);
    expect(lastUserText(seen)).toContain('socket');
  });

  it('should list the files a regenerate sends again, in its response and its events', async () => {
    const [image, notes] = [
      await upload(PNG_1X1, 'again.png'),
      await upload(Buffer.from(NOTES), 'again.txt'),
    ];
    const id = await conversation();
    const sent = await t.http
      .post(`${CONVERSATIONS}/${id}/messages`)
      .set(A)
      .send({ message: 'Look', attachments: [image, notes] })
      .expect(201);
    const shown = sent.body.userMessage.attachments as { id: string }[];
    expect(shown.map((f) => f.id)).toEqual([image, notes]);
    const replyId = sent.body.assistantMessage.id as string;
    const regenerate = `${CONVERSATIONS}/${id}/messages/${replyId}/regenerate`;

    const whole = await t.http.post(regenerate).set(A).send({}).expect(201);
    expect(whole.body.userMessage.attachments).toEqual(shown);
    expect(t.fake.requests.at(-1)!.images.map((i) => i.sha256)).toEqual([sha256(PNG_1X1)]);
    // Replayed under the same key: the same files listed.
    const keyed = { ...A, 'Idempotency-Key': 'regenerate-with-files' };
    const first = await t.http.post(regenerate).set(keyed).send({}).expect(201);
    const replayed = await t.http.post(regenerate).set(keyed).send({}).expect(201);
    expect(replayed.body.assistantMessage.id).toBe(first.body.assistantMessage.id);
    expect(replayed.body.userMessage.attachments).toEqual(shown);

    const stream = await openSse(`${t.url}${regenerate}/stream`, { body: {}, headers: A });
    const created = await stream.waitFor('message.created');
    await stream.ended;
    expect(JSON.parse(created.data).userMessage.attachments).toEqual(shown);

    const socket = await TestSocket.open(t.url, { headers: A });
    socket.send({ type: 'message.regenerate', conversationId: id, messageId: replyId });
    await socket.turnEnd(id);
    socket.ws.close();
    const event = socket.events(id).find((m) => m.type === 'message.created')!;
    expect((event.data as { userMessage: unknown }).userMessage).toMatchObject({
      attachments: shown,
    });

    // An edit that carries files lists them on its new message too.
    const edited = await t.http
      .post(`${CONVERSATIONS}/${id}/messages/${sent.body.userMessage.id}/edit`)
      .set(A)
      .send({ message: 'Look again', attachments: [notes] })
      .expect(201);
    expect(edited.body.userMessage.attachments.map((f: { id: string }) => f.id)).toEqual([notes]);
  });

  it('should list attachments in the exports, and embed their bytes with include=files', async () => {
    // A PNG with bytes after its end: several storage chunks, a length not a multiple of 3.
    const big = Buffer.concat([PNG_1X1, randomBytes(700_001)]);
    const [image, notes] = [
      await upload(big, 'big.png'),
      await upload(Buffer.from(NOTES), 'export.txt'),
    ];
    const id = await conversation();
    const sent = await t.http
      .post(`${CONVERSATIONS}/${id}/messages`)
      .set(A)
      .send({ message: 'Keep these', attachments: [image, notes] })
      .expect(201);
    await t.http
      .post(`${CONVERSATIONS}/${id}/messages`)
      .set(A)
      .send({ message: 'This one again', attachments: [image] })
      .expect(201);
    const exportOf = (query: string) =>
      t.http.get(`${CONVERSATIONS}/${id}/export${query}`).set(A).buffer(true).expect(200);

    const plain = JSON.parse((await exportOf('')).text);
    expect(plain.files).toBeUndefined();
    expect(plain.messages[0].attachments).toEqual(sent.body.userMessage.attachments);

    const embedded = JSON.parse((await exportOf('?include=files')).text);
    expect(embedded.messages).toEqual(plain.messages);
    // Each file once, in the order the messages first carry them, its bytes intact.
    expect(embedded.files.map((f: { id: string }) => f.id)).toEqual([image, notes]);
    for (const [file, bytes] of [
      [embedded.files[0], big],
      [embedded.files[1], Buffer.from(NOTES)],
    ]) {
      const decoded = Buffer.from(file.data as string, 'base64');
      expect(sha256(decoded)).toBe(sha256(bytes as Buffer));
      expect(file).toMatchObject({
        sha256: sha256(bytes as Buffer),
        bytes: (bytes as Buffer).length,
      });
    }
    expect(embedded.files[0]).toMatchObject({
      filename: 'big.png',
      mimeType: 'image/png',
      kind: 'image',
    });

    const markdown = (await exportOf('?format=markdown')).text;
    expect(markdown).toContain(`- attached: big.png (image/png, ${big.length} bytes, id ${image})`);
    expect(markdown).toContain(
      `- attached: export.txt (text/plain, ${NOTES.length} bytes, id ${notes})`,
    );
    const refused = await t.http
      .get(`${CONVERSATIONS}/${id}/export?format=markdown&include=files`)
      .set(A)
      .expect(400);
    expect(JSON.stringify(refused.body)).toContain('include=files');
    await t.http.get(`${CONVERSATIONS}/${id}/export?include=files`).set(B).expect(404);
  });

  it("should put a PDF's text into the prompt, and count it in the budget", async () => {
    const pdf = await upload(await pdfSaying('Quarterly revenue rose nine percent'), 'q3.pdf');
    const id = await conversation();
    await t.http
      .post(`${CONVERSATIONS}/${id}/messages`)
      .set(A)
      .send({ message: 'Summarise', attachments: [pdf] })
      .expect(201);
    expect(lastUserText()).toContain('[Attached: q3.pdf]\\nQuarterly revenue rose nine percent');

    // Too big for the window with the document: refused with the numbers, nothing stored.
    const big = await upload(Buffer.from('lorem ipsum dolor '.repeat(200)), 'big.txt');
    const small = await conversation(SMALL);
    const res = await t.http
      .post(`${CONVERSATIONS}/${small}/messages`)
      .set(A)
      .send({ message: 'Summarise', attachments: [big] })
      .expect(422);
    expect(res.body.error).toBe('message_too_long');
    expect(await t.storedMessages(small)).toHaveLength(0);
  });

  it('should refuse a document whose text could not be extracted, naming its error', async () => {
    const locked = await upload(passwordProtectedPdf(), 'locked.pdf', A, 'failed');
    const id = await conversation();
    const res = await t.http
      .post(`${CONVERSATIONS}/${id}/messages`)
      .set(A)
      .send({ message: 'Read it', attachments: [locked] })
      .expect(422);
    expect(res.body.error).toBe('file_unreadable');
    expect(res.body.message).toContain('extract_encrypted');
    expect(await t.storedMessages(id)).toHaveLength(0);
  });

  it("should answer another owner's file as not found, storing nothing", async () => {
    const bobs = await upload(PNG_1X1, 'bob.png', B);
    const id = await conversation();
    const before = t.fake.requests.length;
    const res = await t.http
      .post(`${CONVERSATIONS}/${id}/messages`)
      .set(A)
      .send({ message: 'look', attachments: [bobs] })
      .expect(404);
    expect(res.body.error).toBe('file_not_found');
    expect(await t.storedMessages(id)).toHaveLength(0);
    expect(t.fake.requests).toHaveLength(before);
    // The conversation is free for the next send.
    await t.http.post(`${CONVERSATIONS}/${id}/messages`).set(A).send({ message: 'ok' }).expect(201);
  });

  it('should refuse an image for an alias that cannot see, naming the ones that can', async () => {
    const image = await upload(PNG_1X1, 'dot.png');
    const id = await conversation(BLIND);
    const res = await t.http
      .post(`${CONVERSATIONS}/${id}/messages`)
      .set(A)
      .send({ message: 'look', attachments: [image] })
      .expect(422);
    expect(res.body.error).toBe('vision_not_supported');
    expect(res.body.message).toContain(BLIND);
    expect(res.body.message).toContain(VISION);
    expect(await t.storedMessages(id)).toHaveLength(0);
  });
});

describe('Attachments: /v1/chat/completions image parts', () => {
  const t = withTestApp({
    models: [
      {
        alias: VISION,
        provider: 'lmstudio',
        model: 'fake-model',
        contextWindow: 8192,
        vision: true,
      },
      { alias: BLIND, provider: 'lmstudio', model: 'fake-model', contextWindow: 8192 },
    ],
  });
  const dataUrl = `data:image/png;base64,${PNG_1X1.toString('base64')}`;
  const body = (model: string, url = dataUrl) => ({
    model,
    messages: [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'What is this?' },
          { type: 'image_url', image_url: { url } },
        ],
      },
    ],
  });

  it('should pass a data URL image to a vision alias', async () => {
    const res = await t.http.post('/v1/chat/completions').send(body(VISION)).expect(200);
    expect(res.body.choices[0].message.content).toContain('What is this?');
    const seen = t.fake.requests.at(-1)!;
    expect(seen.images.map((i) => i.sha256)).toEqual([sha256(PNG_1X1)]);
  });

  it('should refuse an image for an alias that cannot see, and a remote URL', async () => {
    const before = t.fake.requests.length;
    const blind = await t.http.post('/v1/chat/completions').send(body(BLIND)).expect(422);
    expect(blind.body.error.code).toBe('vision_not_supported');
    expect(blind.body.error.message).toContain(VISION);
    const remote = await t.http
      .post('/v1/chat/completions')
      .send(body(VISION, 'https://example.com/cat.png'))
      .expect(400);
    expect(JSON.stringify(remote.body)).toContain('data URL');
    expect(t.fake.requests).toHaveLength(before);
  });
});
