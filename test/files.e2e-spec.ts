import { createHash } from 'node:crypto';
import http from 'node:http';

import OpenAI, { toFile } from 'openai';

import { LlmService } from '../src/llm/llm.service';
import { exeBytes, passwordProtectedPdf, pdfSaying, PNG_1X1 } from './utils/files';
import { waitUntil, withTestApp } from './utils/harness';
import { twoOwners } from './utils/owners';

const FILES = '/api/v1/files';
const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

describe('Files', () => {
  const { keyA, keyB, env: owners } = twoOwners();
  const t = withTestApp({
    env: {
      ...owners,
      FILE_MAX_BYTES: String(2 * 1024 * 1024),
      FILE_QUOTA_BYTES: String(3 * 1024 * 1024),
    },
  });
  const A = { 'X-API-Key': keyA };
  const B = { 'X-API-Key': keyB };

  const upload = (bytes: Buffer, filename: string, headers = A) =>
    t.http
      .post(FILES)
      .set(headers)
      .attach('file', bytes, { filename, contentType: 'application/octet-stream' });

  async function untilSettled(id: string, headers = A): Promise<Record<string, unknown>> {
    let file: Record<string, unknown> = {};
    await waitUntil(async () => {
      file = (await t.http.get(`${FILES}/${id}`).set(headers).expect(200)).body;
      return file.status !== 'processing';
    }, 20_000);
    return file;
  }

  it('should store an upload and give its bytes back, streamed, with the sniffed type', async () => {
    const res = await upload(PNG_1X1, 'photo.txt').expect(201);
    expect(res.body).toMatchObject({
      filename: 'photo.txt',
      mimeType: 'image/png',
      kind: 'image',
      bytes: PNG_1X1.length,
      sha256: sha256(PNG_1X1),
      status: 'ready',
      width: 1,
      height: 1,
      imageTokens: 255,
    });
    const content = await t.http
      .get(`${FILES}/${res.body.id}/content`)
      .set(A)
      .buffer(true)
      .parse((r, done) => {
        const parts: Buffer[] = [];
        r.on('data', (c: Buffer) => parts.push(c));
        r.on('end', () => done(null, Buffer.concat(parts)));
      })
      .expect(200);
    expect(content.headers['content-type']).toBe('image/png');
    expect(content.headers['x-content-type-options']).toBe('nosniff');
    expect(content.headers['content-disposition']).toMatch(/^inline; filename="photo.txt"/);
    expect(sha256(content.body as Buffer)).toBe(sha256(PNG_1X1));
  });

  it('should serve HTML as an attachment, and refuse an executable', async () => {
    const html = await upload(
      Buffer.from('<!DOCTYPE html><script>alert(1)</script>'),
      'page.png',
    ).expect(201);
    expect(html.body).toMatchObject({ mimeType: 'text/html', kind: 'document' });
    const served = await t.http.get(`${FILES}/${html.body.id}/content`).set(A).expect(200);
    expect(served.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(served.headers['content-disposition']).toMatch(/^attachment;/);
    expect(served.headers['content-security-policy']).toContain('sandbox');

    const exe = await upload(exeBytes(), 'setup.pdf').expect(415);
    expect(exe.body).toMatchObject({ error: 'file_type_not_allowed' });
    expect(exe.body.message).toContain('application/x-msdownload');
  });

  it('should refuse a file over FILE_MAX_BYTES with 413 file_too_large', async () => {
    const big = Buffer.alloc(2 * 1024 * 1024 + 1, 'a');
    const res = await upload(big, 'big.txt').expect(413);
    expect(res.body).toMatchObject({ error: 'file_too_large' });
    expect(res.body.message).toContain('FILE_MAX_BYTES (2097152 bytes)');
  });

  it("should keep each owner's files to the owner (404 for another's)", async () => {
    const mine = await upload(Buffer.from('alice only'), 'a.txt').expect(201);
    const id = mine.body.id as string;
    for (const path of [`${FILES}/${id}`, `${FILES}/${id}/content`]) {
      const res = await t.http.get(path).set(B).expect(404);
      expect(res.body).toMatchObject({ error: 'file_not_found' });
    }
    await t.http.delete(`${FILES}/${id}`).set(B).expect(404);
    const list = await t.http.get(FILES).set(B).expect(200);
    expect(list.body.data.map((f: { id: string }) => f.id)).not.toContain(id);
    await t.http.get(`${FILES}/${id}`).set(A).expect(200);
  });

  it('should store the same bytes once per owner, and delete them with their last file', async () => {
    const bytes = Buffer.from(`same bytes ${Date.now()}`);
    const first = await upload(bytes, 'one.txt').expect(201);
    const second = await upload(bytes, 'two.txt').expect(201);
    expect(second.body.id).not.toBe(first.body.id);
    expect(second.body).toMatchObject({ filename: 'two.txt', sha256: first.body.sha256 });
    const blobs = await t.prisma.fileBlob.count({
      where: { ownerId: 'alice', sha256: sha256(bytes) },
    });
    expect(blobs).toBe(1);
    // Another owner's same bytes are theirs.
    await upload(bytes, 'b.txt', B).expect(201);
    expect(await t.prisma.fileBlob.count({ where: { sha256: sha256(bytes) } })).toBe(2);

    await t.http.delete(`${FILES}/${first.body.id}`).set(A).expect(204);
    const kept = await t.http.get(`${FILES}/${second.body.id}/content`).set(A).expect(200);
    expect(kept.text).toBe(bytes.toString());
    await t.http.delete(`${FILES}/${second.body.id}`).set(A).expect(204);
    expect(
      await t.prisma.fileBlob.count({ where: { ownerId: 'alice', sha256: sha256(bytes) } }),
    ).toBe(0);
  });

  it('should page the list newest first', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++)
      ids.push(
        (await upload(Buffer.from(`page ${i} ${Date.now()}`), `p${i}.txt`, B).expect(201)).body.id,
      );
    const first = await t.http.get(FILES).query({ limit: 2 }).set(B).expect(200);
    expect(first.body.data).toHaveLength(2);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const rest = await t.http
      .get(FILES)
      .query({ limit: 100, cursor: first.body.nextCursor })
      .set(B)
      .expect(200);
    const all = [...first.body.data, ...rest.body.data].map((f: { id: string }) => f.id);
    expect(all.slice(0, 3)).toEqual([...ids].reverse());
  });

  it("should extract a PDF's text, and fail a password-protected one cleanly", async () => {
    const pdf = await upload(
      await pdfSaying('Quarterly revenue grew by 12 percent'),
      'r.pdf',
    ).expect(201);
    expect(pdf.body).toMatchObject({
      mimeType: 'application/pdf',
      kind: 'document',
      status: 'processing',
    });
    const done = await untilSettled(pdf.body.id);
    expect(done).toMatchObject({ status: 'ready', error: null });
    expect(done.textTokens).toBeGreaterThan(3);
    const stored = await t.prisma.fileBlob.findFirstOrThrow({ where: { sha256: pdf.body.sha256 } });
    expect(stored.text).toContain('Quarterly revenue grew by 12 percent');

    const locked = await upload(passwordProtectedPdf(), 'secret.pdf').expect(201);
    const failed = await untilSettled(locked.body.id);
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'extract_encrypted' } });
  });

  it('should extract text files as they are, and refuse text that is not UTF-8', async () => {
    const md = await upload(Buffer.from('# Notes\n\nBuy *milk*.\n'), 'notes.md').expect(201);
    expect(md.body.mimeType).toBe('text/markdown');
    expect(await untilSettled(md.body.id)).toMatchObject({ status: 'ready' });
    const latin1 = Buffer.concat([
      Buffer.from('caf'),
      Buffer.from([0xe9]),
      Buffer.from(' au lait'),
    ]);
    const res = await upload(latin1, 'menu.txt').expect(415);
    expect(res.body.error).toBe('file_type_not_allowed');
  });

  it('should refuse an upload past the quota with the numbers', async () => {
    // 3 MiB quota: two files of 1.5 MiB fill it.
    await upload(Buffer.alloc(1.5 * 1024 * 1024, 'x'), 'x.txt', B).expect(201);
    await upload(Buffer.alloc(1.5 * 1024 * 1024, 'y'), 'y.txt', B)
      .expect(413)
      .expect((res) => {
        expect(res.body.error).toBe('file_quota_exceeded');
        expect(res.body.message).toContain('FILE_QUOTA_BYTES (3145728 bytes)');
      });
  });

  it("should take an upload from fetch's FormData (undici), as a browser sends it", async () => {
    const form = new FormData();
    form.append('purpose', 'vision');
    form.append('file', new Blob([PNG_1X1], { type: 'text/plain' }), 'shot.png');
    const res = await fetch(`${t.url}${FILES}`, { method: 'POST', headers: A, body: form });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ mimeType: 'image/png', filename: 'shot.png' });
  });

  it('should drop what a client sent before it went away mid-upload', async () => {
    const boundary = 'gone';
    const req = http.request(`${t.url}${FILES}`, {
      method: 'POST',
      headers: {
        ...A,
        'Content-Type': `multipart/form-data; boundary=${boundary}`,
        'Content-Length': 1024 * 1024 + 200,
      },
    });
    req.on('error', () => undefined);
    req.write(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="cut.txt"\r\n\r\n`,
    );
    req.write(Buffer.alloc(600 * 1024, 'cut '));
    await waitUntil(
      async () => (await t.prisma.fileBlob.count({ where: { status: 'uploading' } })) > 0,
    );
    req.destroy();
    await waitUntil(
      async () => (await t.prisma.fileBlob.count({ where: { status: 'uploading' } })) === 0,
    );
    expect(await t.prisma.fileChunk.count({ where: { blob: { status: 'uploading' } } })).toBe(0);
  });

  it('should refuse a body without a file part', async () => {
    const res = await t.http.post(FILES).set(A).field('purpose', 'user_data').expect(400);
    expect(res.body.error).toBe('invalid_upload');
    const json = await t.http.post(FILES).set(A).send({ file: 'x' }).expect(400);
    expect(json.body.error).toBe('invalid_upload');
  });
});

describe('Files through the OpenAI SDK (/v1/files)', () => {
  const t = withTestApp({});
  const client = (): OpenAI =>
    new OpenAI({ baseURL: `${t.url}/v1`, apiKey: 'unused', maxRetries: 0 });

  it("should upload, list, read, download and delete in OpenAI's shapes", async () => {
    const openai = client();
    const bytes = Buffer.from('# Plan\n\n1. Ship it\n');
    const created = await openai.files.create({
      file: await toFile(bytes, 'plan.md'),
      purpose: 'assistants',
    });
    expect(created).toMatchObject({
      object: 'file',
      bytes: bytes.length,
      filename: 'plan.md',
      purpose: 'assistants',
    });
    expect(created.created_at).toBeGreaterThan(1_700_000_000);
    // The same file on the other door.
    const native = await t.http.get(`${FILES}/${created.id}`).expect(200);
    expect(native.body).toMatchObject({ mimeType: 'text/markdown', sha256: sha256(bytes) });

    await waitUntil(
      async () => (await openai.files.retrieve(created.id)).status === 'processed',
      20_000,
    );
    const page = await openai.files.list();
    expect(page.data.map((f) => f.id)).toContain(created.id);
    const content = await openai.files.content(created.id);
    expect(Buffer.from(await content.arrayBuffer()).equals(bytes)).toBe(true);
    expect(await openai.files.delete(created.id)).toEqual({
      id: created.id,
      object: 'file',
      deleted: true,
    });
  });

  it("should answer errors in OpenAI's shape", async () => {
    const openai = client();
    const missing = await openai.files.retrieve('file-abc123').catch((error: unknown) => error);
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
    expect(missing).toMatchObject({ status: 404, code: 'file_not_found' });
    const exe = await openai.files
      .create({ file: await toFile(exeBytes(), 'a.exe'), purpose: 'user_data' })
      .catch((error: unknown) => error);
    expect(exe).toMatchObject({ status: 415, code: 'file_type_not_allowed' });
  });
});

describe('Images to the provider', () => {
  const t = withTestApp({
    models: [
      { alias: 'lmstudio/default', provider: 'lmstudio', contextWindow: 32768, vision: true },
    ],
  });

  it("should send a user message's images as image_url parts the model receives intact", async () => {
    const llm = t.nest.get(LlmService);
    const second = Buffer.concat([PNG_1X1, Buffer.from('different bytes')]);
    let reply = '';
    for await (const chunk of llm.generate({
      model: llm.resolve('lmstudio/default'),
      messages: [
        {
          role: 'user',
          content: 'What is in these?',
          images: [
            { mimeType: 'image/png', data: PNG_1X1 },
            { mimeType: 'image/png', data: second.toString('base64') },
          ],
        },
      ],
      params: {},
      mode: 'complete',
      signal: AbortSignal.timeout(10_000),
    }))
      if (chunk.type === 'delta') reply += chunk.text;
    const [request] = t.fake.requests;
    expect(request.images).toEqual([
      { mimeType: 'image/png', sha256: sha256(PNG_1X1), bytes: PNG_1X1.length },
      { mimeType: 'image/png', sha256: sha256(second), bytes: second.length },
    ]);
    expect(request.body.messages[0].content).toEqual([
      { type: 'text', text: 'What is in these?' },
      {
        type: 'image_url',
        image_url: { url: `data:image/png;base64,${PNG_1X1.toString('base64')}` },
      },
      {
        type: 'image_url',
        image_url: { url: `data:image/png;base64,${second.toString('base64')}` },
      },
    ]);
    expect(reply).toBe(
      `Echo: What is in these? [messages=1] [images=${sha256(PNG_1X1).slice(0, 12)},${sha256(second).slice(0, 12)}]`,
    );
  });
});

describe('Files lifecycle', () => {
  const t = withTestApp({ env: { FILE_ORPHAN_TTL: '2s', FILE_SWEEP_MS: '200' } });

  it('should delete a file no message references once FILE_ORPHAN_TTL has passed', async () => {
    const orphan = await t.http
      .post(FILES)
      .attach('file', Buffer.from('orphan'), 'o.txt')
      .expect(201);
    const kept = await t.http
      .post(FILES)
      .attach('file', Buffer.from('attached'), 'k.txt')
      .expect(201);
    const conversation = await t.createConversation();
    const turn = await t.send(conversation, 'look at this');
    await t.prisma.messageAttachment.create({
      data: { messageId: turn.body.userMessage.id, fileId: kept.body.id, position: 0 },
    });
    // Still young: both stay.
    await t.http.get(`${FILES}/${orphan.body.id}`).expect(200);
    await waitUntil(
      async () => (await t.http.get(`${FILES}/${orphan.body.id}`)).status === 404,
      10_000,
    );
    await t.http.get(`${FILES}/${kept.body.id}`).expect(200);
    expect(await t.prisma.fileBlob.count({ where: { sha256: orphan.body.sha256 } })).toBe(0);
    // Deleting the conversation drops the reference: the file is an orphan then.
    await t.http.delete(`/api/v1/conversations/${conversation}`).expect(204);
    await waitUntil(
      async () => (await t.http.get(`${FILES}/${kept.body.id}`)).status === 404,
      10_000,
    );
  });
});

describe('Files: extraction across replicas', () => {
  const t = withTestApp({ env: { FILE_SWEEP_MS: '200' } });

  const status = async (id: string): Promise<Record<string, unknown>> =>
    (await t.http.get(`${FILES}/${id}`).expect(200)).body;

  it('should take over an extraction whose replica died (its lease lapsed)', async () => {
    const pdf = await t.http
      .post(FILES)
      .attach('file', await pdfSaying('Recovered after a crash'), 'c.pdf')
      .expect(201);
    await waitUntil(async () => (await status(pdf.body.id)).status === 'ready', 20_000);
    // As a replica that claimed it and was killed leaves it: processing, a lapsed lease.
    const lapsed = new Date(Date.now() - 1000);
    await t.prisma.fileBlob.updateMany({
      where: { sha256: pdf.body.sha256 },
      data: {
        status: 'processing',
        text: null,
        textTokens: null,
        extractLeaseUntil: lapsed,
        extractAttempts: 1,
      },
    });
    await waitUntil(async () => (await status(pdf.body.id)).status === 'ready', 20_000);
    const blob = await t.prisma.fileBlob.findFirstOrThrow({ where: { sha256: pdf.body.sha256 } });
    expect(blob).toMatchObject({ extractAttempts: 2, extractLeaseUntil: null });
    expect(blob.text).toContain('Recovered after a crash');

    // A document whose every attempt died ends failed, not processing forever.
    await t.prisma.fileBlob.updateMany({
      where: { sha256: pdf.body.sha256 },
      data: { status: 'processing', extractLeaseUntil: lapsed, extractAttempts: 3 },
    });
    await waitUntil(async () => (await status(pdf.body.id)).status === 'failed', 10_000);
    expect(await status(pdf.body.id)).toMatchObject({ error: { code: 'extract_interrupted' } });
  });
});

describe('Files: extraction limits', () => {
  const t = withTestApp({ env: { FILE_EXTRACT_TIMEOUT_MS: '100', FILE_EXTRACT_MAX_CHARS: '50' } });

  it('should end in failed, not hang, when extraction outlasts FILE_EXTRACT_TIMEOUT_MS', async () => {
    const pdf = await t.http
      .post(FILES)
      .attach('file', await pdfSaying('slow'), 's.pdf')
      .expect(201);
    let file: Record<string, unknown> = {};
    await waitUntil(async () => {
      file = (await t.http.get(`${FILES}/${pdf.body.id}`).expect(200)).body;
      return file.status !== 'processing';
    }, 10_000);
    expect(file).toMatchObject({ status: 'failed', error: { code: 'extract_timeout' } });
    expect((file.error as { message: string }).message).toContain(
      'FILE_EXTRACT_TIMEOUT_MS (100 ms)',
    );
  });
});
