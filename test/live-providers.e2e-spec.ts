import { createTestDatabase, TestDatabase } from './utils/database';
import { startTestApp, TestApp } from './utils/test-app';

/**
 * Against the real services. Each test runs only when its provider is there and says in
 * its name why it was skipped otherwise.
 */
const GROQ_KEY = process.env.GROQ_API_KEY;
const LMSTUDIO_URL = process.env.LMSTUDIO_BASE_URL ?? 'http://localhost:1234/v1';

// Probed once by the global setup (tests cannot skip themselves after they start).
const LMSTUDIO_UP = process.env.TEST_LMSTUDIO_REACHABLE === 'true';

async function holdsMemory(t: TestApp, model: string): Promise<void> {
  const id = (await t.http.post('/api/v1/conversations').send({ model }).expect(201)).body
    .id as string;
  await t.http
    .post(`/api/v1/conversations/${id}/messages`)
    .send({ message: 'My favourite colour is teal. Reply OK.' })
    .expect(201);
  const res = await t.http
    .post(`/api/v1/conversations/${id}/messages`)
    .send({ message: 'What is my favourite colour? One word.' })
    .expect(201);
  expect(String(res.body.response).toLowerCase()).toContain('teal');
}

describe('Live providers', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => db?.drop());

  (GROQ_KEY ? it : it.skip)(
    `should hold a two-turn conversation on Groq${GROQ_KEY ? '' : ' (skipped: GROQ_API_KEY is unset)'}`,
    async () => {
      const t = await startTestApp(db.url, {
        GROQ_API_KEY: GROQ_KEY ?? '',
        LLM_TIMEOUT_MS: '30000',
      });
      try {
        await holdsMemory(t, 'groq/llama-3.1-8b');
      } finally {
        await t.close();
      }
    },
    60_000,
  );

  (LMSTUDIO_UP ? it : it.skip)(
    `should hold a two-turn conversation on LM Studio${LMSTUDIO_UP ? '' : ` (skipped: nothing answers at ${LMSTUDIO_URL}/models)`}`,
    async () => {
      const t = await startTestApp(db.url, {
        LMSTUDIO_BASE_URL: LMSTUDIO_URL,
        LLM_TIMEOUT_MS: '120000',
      });
      try {
        await holdsMemory(t, 'lmstudio/default');
      } finally {
        await t.close();
      }
    },
    300_000,
  );
});
