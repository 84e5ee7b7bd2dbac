import { createHash } from 'node:crypto';

import OpenAI, { toFile } from 'openai';
import type { ChatCompletionContentPart } from 'openai/resources/chat/completions';

import { passwordProtectedPdf, pdfSaying, PNG_1X1 } from './utils/files';
import { apiError, twoOwners } from './utils/owners';
import { AppClient, waitUntil, withTestApp } from './utils/harness';

const VISION = 'test/vision';
const BLIND = 'test/blind';
const TINY = 'test/tiny-vision';
const NOTES = 'The secret word is pelican.';
const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/** The real SDK as an OpenAI user points it at us, as one owner; no retries. */
function sdk(t: AppClient, key: string): OpenAI {
  return new OpenAI({
    baseURL: `${t.url}/v1`,
    apiKey: 'not-needed',
    maxRetries: 0,
    defaultHeaders: { 'X-API-Key': key },
  });
}

describe('/v1/chat/completions with file ids and file parts', () => {
  const { keyA, keyB, env: owners } = twoOwners();
  const t = withTestApp({
    env: {
      ...owners,
      LLM_MAX_RETRIES: '0',
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
        alias: TINY,
        provider: 'lmstudio',
        model: 'fake-model',
        contextWindow: 256,
        maxOutputTokens: 50,
        vision: true,
      },
    ],
  });
  let alice: OpenAI;
  let bob: OpenAI;
  beforeAll(() => {
    alice = sdk(t, keyA);
    bob = sdk(t, keyB);
  });

  async function upload(bytes: Buffer, filename: string, status = 'processed'): Promise<string> {
    const file = await alice.files.create({
      file: await toFile(bytes, filename),
      purpose: 'user_data',
    });
    await waitUntil(async () => (await alice.files.retrieve(file.id)).status === status, 20_000);
    return file.id;
  }

  const ask = (model: string, ...parts: ChatCompletionContentPart[]) =>
    alice.chat.completions.create({
      model,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Look' }, ...parts] }],
    });

  /** The last user message the fake was sent, as JSON. */
  const lastUserText = (): string =>
    JSON.stringify(
      t.fake.requests
        .at(-1)!
        .body.messages.filter((m) => m.role === 'user')
        .at(-1)!.content,
    );

  it('should show an image named by its file id to a vision alias', async () => {
    const id = await upload(PNG_1X1, 'dot.png');
    const completion = await ask(VISION, { type: 'image_url', image_url: { url: id } });
    expect(completion.choices[0].message.content).toContain('Look');
    expect(t.fake.requests.at(-1)!.images.map((i) => i.sha256)).toEqual([sha256(PNG_1X1)]);

    // Streamed alike.
    const stream = await alice.chat.completions.create({
      model: VISION,
      stream: true,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Stream it' },
            { type: 'image_url', image_url: { url: id } },
          ],
        },
      ],
    });
    let streamed = '';
    for await (const chunk of stream) streamed += chunk.choices[0]?.delta.content ?? '';
    expect(streamed).toContain('Stream it');
    expect(t.fake.requests.at(-1)!.images.map((i) => i.sha256)).toEqual([sha256(PNG_1X1)]);

    // The id /api/v1/files gives is the same kind of id; a file part takes an image too.
    const res = await t.http
      .post('/api/v1/files')
      .set('X-API-Key', keyA)
      .attach('file', PNG_1X1, 'rest.png')
      .expect(201);
    await ask(
      VISION,
      {
        type: 'image_url',
        image_url: { url: `data:image/png;base64,${PNG_1X1.toString('base64')}` },
      },
      { type: 'file', file: { file_id: res.body.id as string } },
    );
    expect(t.fake.requests.at(-1)!.images.map((i) => i.sha256)).toEqual([
      sha256(PNG_1X1),
      sha256(PNG_1X1),
    ]);

    // An image costs its tiles (255 tokens for a small one) in the context window, as in a turn.
    await ask(TINY);
    const sent = t.fake.requests.length;
    const tooBig = await apiError(ask(TINY, { type: 'image_url', image_url: { url: id } }));
    expect(tooBig).toMatchObject({ status: 400, code: 'context_length_exceeded' });
    expect(tooBig.message).toContain('256 tokens');
    expect(t.fake.requests.length).toBe(sent);
    // An image sent inline (a data URL, never stored) costs its tiles too.
    const inlineUrl = `data:image/png;base64,${PNG_1X1.toString('base64')}`;
    const inline = await apiError(ask(TINY, { type: 'image_url', image_url: { url: inlineUrl } }));
    expect(inline).toMatchObject({ status: 400, code: 'context_length_exceeded' });
    expect(t.fake.requests.length).toBe(sent);
  });

  it("should put a document's text into the message, by file id or inline", async () => {
    const pdf = await upload(await pdfSaying('Quarterly revenue rose nine percent'), 'q3.pdf');
    await ask(BLIND, { type: 'file', file: { file_id: pdf } });
    expect(lastUserText()).toContain('Look\\n\\n[Attached: q3.pdf]\\n');
    expect(lastUserText()).toContain('Quarterly revenue rose nine percent');

    const before = (await alice.files.list()).data.length;
    const data = `data:text/plain;base64,${Buffer.from(NOTES).toString('base64')}`;
    const inline = { type: 'file' as const, file: { file_data: data, filename: 'memo.txt' } };
    await ask(BLIND, inline);
    expect(lastUserText()).toContain(`[Attached: memo.txt]\\n${NOTES}`);
    // Stored once as one of the owner's files: the same bytes sent again reuse it.
    await ask(BLIND, inline);
    expect((await alice.files.list()).data).toHaveLength(before + 1);

    const notData = await apiError(
      ask(BLIND, { type: 'file', file: { file_data: 'aGVsbG8=', filename: 'x.txt' } }),
    );
    expect(notData).toMatchObject({ status: 400 });
    expect(notData.message).toContain('base64 data URL');
  });

  it("should answer another owner's file as 404, and refuse what cannot be shown", async () => {
    const image = await upload(PNG_1X1, 'mine.png');
    const sent = t.fake.requests.length;
    for (const part of [
      { type: 'image_url' as const, image_url: { url: image } },
      { type: 'file' as const, file: { file_id: image } },
      { type: 'file' as const, file: { file_id: 'file-abc123' } },
    ]) {
      const error = await apiError(
        bob.chat.completions.create({
          model: VISION,
          messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }, part] }],
        }),
      );
      expect(error).toBeInstanceOf(OpenAI.NotFoundError);
      expect(error).toMatchObject({ status: 404, code: 'file_not_found' });
    }

    const blind = await apiError(ask(BLIND, { type: 'image_url', image_url: { url: image } }));
    expect(blind).toMatchObject({ status: 422, code: 'vision_not_supported' });
    expect(blind.message).toContain(VISION);

    const before = (await alice.files.list()).data.length;
    const inlineImage = `data:image/png;base64,${PNG_1X1.toString('base64')}`;
    const refused = await apiError(
      ask(BLIND, { type: 'file', file: { file_data: inlineImage, filename: 'new.png' } }),
    );
    expect(refused).toMatchObject({ status: 422, code: 'vision_not_supported' });
    expect((await alice.files.list()).data).toHaveLength(before);

    const notes = await upload(Buffer.from(NOTES), 'notes.txt');
    const asImage = await apiError(ask(VISION, { type: 'image_url', image_url: { url: notes } }));
    expect(asImage).toMatchObject({ status: 400 });
    expect(asImage.message).toContain('send it as a file part');

    const remote = await apiError(
      ask(VISION, { type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }),
    );
    expect(remote).toMatchObject({ status: 400 });
    expect(t.fake.requests.length).toBe(sent);
  });

  it('should refuse a document still being read (409) or unreadable (422)', async () => {
    const locked = await pdfSaying('Not read yet');
    const pending = await upload(locked, 'pending.pdf');
    // As while another replica extracts it: processing, its lease held.
    const { blobId } = await t.prisma.file.findUniqueOrThrow({ where: { id: pending } });
    await t.prisma.fileBlob.update({
      where: { id: blobId },
      data: { status: 'processing', extractLeaseUntil: new Date(Date.now() + 3600_000) },
    });
    const busy = await apiError(ask(BLIND, { type: 'file', file: { file_id: pending } }));
    expect(busy).toMatchObject({ status: 409, code: 'file_not_ready' });
    expect(busy.message).toContain('still being read');

    const broken = await upload(passwordProtectedPdf(), 'locked.pdf', 'error');
    const unreadable = await apiError(ask(BLIND, { type: 'file', file: { file_id: broken } }));
    expect(unreadable).toMatchObject({ status: 422, code: 'file_unreadable' });
  });
});
