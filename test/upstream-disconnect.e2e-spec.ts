import { FakeLlmServer } from './fake-llm/fake-llm-server';
import { createTestDatabase, TestDatabase } from './utils/database';
import { postSse } from './utils/sse-client';
import { startTestApp, TestApp } from './utils/test-app';

const BASE = '/api/v1/conversations';

/** An upstream that sends a few chunks at once and resets the connection right after. */
describe('Upstream cut right after a burst of chunks', () => {
  let db: TestDatabase;
  let fake: FakeLlmServer;
  let t: TestApp;

  beforeAll(async () => {
    db = await createTestDatabase();
    fake = new FakeLlmServer({ models: ['fake-model', 'llama-3.1-8b-instant'] });
    await fake.start();
    t = await startTestApp(db.url, {
      LMSTUDIO_BASE_URL: fake.openAiBaseUrl,
      LMSTUDIO_MODEL: 'fake-model',
      GROQ_API_KEY: 'k',
      GROQ_BASE_URL: fake.url,
    });
  });

  afterAll(async () => {
    await t?.close();
    await fake?.stop();
    await db?.drop();
  });

  for (const model of ['lmstudio/default', 'groq/llama-3.1-8b']) {
    it(`should keep the chunks received and store them with the failed reply (${model})`, async () => {
      fake.script({ kind: 'drop', afterChunks: 3, burst: true });
      const id = (await t.http.post(BASE).send({ model }).expect(201)).body.id as string;
      const stream = await postSse(`${t.url}${BASE}/${id}/messages/stream`, {
        message: 'a b c d e f',
      });
      await stream.ended;

      const deltas = stream.events.filter((e) => e.event === 'message.delta');
      expect(deltas.map((e) => JSON.parse(e.data).delta).join('')).toBe('Echo: a b');
      const last = stream.events.at(-1)!;
      expect(last.event).toBe('error');
      expect(JSON.parse(last.data)).toMatchObject({
        code: 'provider_error',
        assistantMessage: { status: 'failed', content: 'Echo: a b' },
      });
      const stored = await t.prisma.message.findMany({
        where: { conversationId: id, role: 'assistant' },
      });
      expect(stored).toMatchObject([{ status: 'failed', content: 'Echo: a b' }]);
      expect(fake.requests).toHaveLength(1);
      fake.reset();
    });
  }
});
