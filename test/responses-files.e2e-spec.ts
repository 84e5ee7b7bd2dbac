import { createHash } from 'node:crypto';

import OpenAI, { toFile } from 'openai';

import { PNG_1X1 } from './utils/files';
import { apiError, twoOwners } from './utils/owners';
import { AppClient, waitUntil, withTestApp } from './utils/harness';

const VISION = 'test/vision';
const BLIND = 'test/blind';
const NOTES = 'The secret word is pelican.';
const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/** The real SDK as an OpenAI user points it at us, as one owner; no retries. */
function sdk(t: AppClient, key: string, headers: Record<string, string> = {}): OpenAI {
  return new OpenAI({
    baseURL: `${t.url}/v1`,
    apiKey: 'not-needed',
    maxRetries: 0,
    defaultHeaders: { 'X-API-Key': key, ...headers },
  });
}

describe('Responses with images and files (input_image, input_file)', () => {
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
    ],
  });
  let alice: OpenAI;
  let bob: OpenAI;
  beforeAll(() => {
    alice = sdk(t, keyA);
    bob = sdk(t, keyB);
  });

  async function upload(client: OpenAI, bytes: Buffer, filename: string): Promise<string> {
    const file = await client.files.create({
      file: await toFile(bytes, filename),
      purpose: 'user_data',
    });
    await waitUntil(
      async () => (await client.files.retrieve(file.id)).status === 'processed',
      20_000,
    );
    return file.id;
  }

  /** The last user message the fake was sent, as JSON (its parts when it has images). */
  const lastUserText = (): string =>
    JSON.stringify(
      t.fake.requests
        .at(-1)!
        .body.messages.filter((m) => m.role === 'user')
        .at(-1)!.content,
    );

  it('should show an uploaded image to a vision alias and list it among the input items', async () => {
    const fileId = await upload(alice, PNG_1X1, 'dot.png');
    const response = await alice.responses.create({
      model: VISION,
      input: [
        {
          role: 'user',
          content: [
            { type: 'input_text', text: 'what is this' },
            { type: 'input_image', file_id: fileId, detail: 'auto' },
          ],
        },
      ],
    });
    expect(response.status).toBe('completed');
    const seen = t.fake.requests.at(-1)!;
    expect(seen.images.map((i) => i.sha256)).toEqual([sha256(PNG_1X1)]);
    expect(lastUserText()).toContain('what is this');

    const items = await alice.responses.inputItems.list(response.id);
    expect(items.data).toEqual([
      expect.objectContaining({
        type: 'message',
        role: 'user',
        content: [
          { type: 'input_text', text: 'what is this' },
          { type: 'input_image', file_id: fileId, image_url: null, detail: 'auto' },
        ],
      }),
    ]);
    // The conversation's items show it the same way, and so does the item itself.
    const conversationId = response.conversation!.id;
    const { content } = items.data[0] as { content: unknown[] };
    const listed = await alice.conversations.items.list(conversationId, { order: 'asc' });
    expect(listed.data[0]).toMatchObject({ content });
    const item = await alice.conversations.items.retrieve(listed.data[0].id!, {
      conversation_id: conversationId,
    });
    expect(item).toMatchObject({ content });
  });

  it('should store a data-URL image as a file of the owner and show it', async () => {
    const before = (await alice.files.list()).data.length;
    const url = `data:image/png;base64,${PNG_1X1.toString('base64')}`;
    const response = await alice.responses.create({
      model: VISION,
      input: [
        {
          role: 'user',
          content: [
            { type: 'input_text', text: 'and this?' },
            { type: 'input_image', image_url: url, detail: 'auto' },
          ],
        },
      ],
    });
    expect(t.fake.requests.at(-1)!.images.map((i) => i.sha256)).toEqual([sha256(PNG_1X1)]);
    const files = (await alice.files.list()).data;
    expect(files).toHaveLength(before + 1);
    const items = await alice.responses.inputItems.list(response.id);
    const parts = (items.data[0] as { content: { type: string; file_id?: string }[] }).content;
    expect(parts[1]).toMatchObject({ type: 'input_image', file_id: expect.any(String) });
    expect(files.map((f) => f.id)).toContain(parts[1].file_id);

    // A retry (the same Idempotency-Key) replays the response: the same bytes name the same file.
    const keyed = sdk(t, keyA, { 'Idempotency-Key': 'inline-image-retry' });
    const retry = await keyed.responses.create({
      model: VISION,
      input: [
        {
          role: 'user',
          content: [
            { type: 'input_text', text: 'and this?' },
            { type: 'input_image', image_url: url, detail: 'auto' },
          ],
        },
      ],
    });
    const sent = t.fake.requests.length;
    const again = await keyed.responses.create({
      model: VISION,
      input: [
        {
          role: 'user',
          content: [
            { type: 'input_text', text: 'and this?' },
            { type: 'input_image', image_url: url, detail: 'auto' },
          ],
        },
      ],
    });
    expect(again.id).toBe(retry.id);
    expect(t.fake.requests.length).toBe(sent);
    expect((await alice.files.list()).data).toHaveLength(before + 1);
  });

  it("should put an input_file document's text into the prompt, by id or inline", async () => {
    const fileId = await upload(alice, Buffer.from(NOTES), 'notes.txt');
    const response = await alice.responses.create({
      model: BLIND,
      input: [
        {
          role: 'user',
          content: [
            { type: 'input_text', text: 'What is the secret word?' },
            { type: 'input_file', file_id: fileId },
          ],
        },
      ],
    });
    expect(lastUserText()).toContain('[Attached: notes.txt]');
    expect(lastUserText()).toContain(NOTES);
    const items = await alice.responses.inputItems.list(response.id);
    expect((items.data[0] as { content: unknown[] }).content[1]).toEqual({
      type: 'input_file',
      file_id: fileId,
      filename: 'notes.txt',
    });

    const inline = 'The password is heron.';
    await alice.responses.create({
      model: BLIND,
      input: [
        {
          role: 'user',
          content: [
            { type: 'input_text', text: 'And the password?' },
            {
              type: 'input_file',
              filename: 'memo.txt',
              file_data: `data:text/plain;base64,${Buffer.from(inline).toString('base64')}`,
            },
          ],
        },
      ],
    });
    expect(lastUserText()).toContain('[Attached: memo.txt]');
    expect(lastUserText()).toContain(inline);
  });

  it('should take images and files with store: false, through the chat completions path', async () => {
    const image = await upload(alice, PNG_1X1, 'unstored.png');
    const inline = 'The code is 4711.';
    const response = await alice.responses.create({
      model: VISION,
      store: false,
      input: [
        {
          role: 'user',
          content: [
            { type: 'input_text', text: 'Read both' },
            { type: 'input_image', file_id: image, detail: 'auto' },
            {
              type: 'input_file',
              filename: 'code.txt',
              file_data: `data:text/plain;base64,${Buffer.from(inline).toString('base64')}`,
            },
          ],
        },
      ],
    });
    expect(response.status).toBe('completed');
    expect(t.fake.requests.at(-1)!.images.map((i) => i.sha256)).toEqual([sha256(PNG_1X1)]);
    expect(lastUserText()).toContain(`[Attached: code.txt]\\n${inline}`);

    const error = await apiError(
      bob.responses.create({
        model: VISION,
        store: false,
        input: [
          {
            role: 'user',
            content: [
              { type: 'input_text', text: 'mine now' },
              { type: 'input_image', file_id: image, detail: 'auto' },
            ],
          },
        ],
      }),
    );
    expect(error).toMatchObject({ status: 404, code: 'file_not_found' });
  });

  it('should refuse an image for an alias without vision (422) and leave no inline file behind', async () => {
    const fileId = await upload(alice, PNG_1X1, 'blind.png');
    const sent = t.fake.requests.length;
    const byId = await apiError(
      alice.responses.create({
        model: BLIND,
        input: [
          {
            role: 'user',
            content: [
              { type: 'input_text', text: 'see?' },
              { type: 'input_image', file_id: fileId, detail: 'auto' },
            ],
          },
        ],
      }),
    );
    expect(byId).toMatchObject({ status: 422, code: 'vision_not_supported' });

    const before = (await alice.files.list()).data.length;
    const url = `data:image/png;base64,${PNG_1X1.toString('base64')}`;
    const inline = await apiError(
      alice.responses.create({
        model: BLIND,
        input: [
          {
            role: 'user',
            content: [
              { type: 'input_text', text: 'see?' },
              { type: 'input_image', image_url: url, detail: 'auto' },
            ],
          },
        ],
      }),
    );
    expect(inline).toMatchObject({ status: 422, code: 'vision_not_supported' });
    expect((await alice.files.list()).data).toHaveLength(before);
    expect(t.fake.requests.length).toBe(sent);
  });

  it("should answer 404 in OpenAI's shape for another owner's file, and refuse remote URLs", async () => {
    const fileId = await upload(alice, PNG_1X1, 'mine.png');
    for (const part of [
      { type: 'input_image' as const, file_id: fileId, detail: 'auto' as const },
      { type: 'input_file' as const, file_id: fileId },
      { type: 'input_file' as const, file_id: 'file-abc123' },
    ]) {
      const error = await apiError(
        bob.responses.create({
          model: VISION,
          input: [{ role: 'user', content: [{ type: 'input_text', text: 'read it' }, part] }],
        }),
      );
      expect(error).toBeInstanceOf(OpenAI.NotFoundError);
      expect(error).toMatchObject({ status: 404, code: 'file_not_found' });
    }

    const remote = await apiError(
      alice.responses.create({
        model: VISION,
        input: [
          {
            role: 'user',
            content: [
              { type: 'input_image', image_url: 'https://example.com/cat.png', detail: 'auto' },
            ],
          },
        ],
      }),
    );
    expect(remote).toMatchObject({ status: 400, code: 'unsupported_input' });
    expect(remote.message).toContain('never fetches remote URLs');

    // Files without a word of text: said plainly, not as an empty message.
    const alone = await apiError(
      alice.responses.create({
        model: VISION,
        input: [{ role: 'user', content: [{ type: 'input_file', file_id: fileId }] }],
      }),
    );
    expect(alone).toMatchObject({ status: 400 });
    expect(alone.message).toContain('needs an input_text part');
  });
});
