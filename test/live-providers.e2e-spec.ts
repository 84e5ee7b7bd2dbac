import { AppClient, withTestApp } from './utils/harness';

/**
 * Against the real services. Each test runs only when its provider is there and says in
 * its name why it was skipped otherwise.
 */
const GROQ_KEY = process.env.GROQ_API_KEY;
const LMSTUDIO_URL = process.env.LMSTUDIO_BASE_URL ?? 'http://localhost:1234/v1';

// Probed once by the global setup (tests cannot skip themselves after they start).
const LMSTUDIO_UP = process.env.TEST_LMSTUDIO_REACHABLE === 'true';

async function holdsMemory(t: AppClient, model: string): Promise<void> {
  const id = await t.createConversation({ model });
  await t.send(id, 'My favourite colour is teal. Reply OK.');
  const res = await t.send(id, 'What is my favourite colour? One word.');
  expect(String(res.body.response).toLowerCase()).toContain('teal');
}

describe('Live providers', () => {
  describe('Groq', () => {
    const t = withTestApp({
      fake: false,
      env: { GROQ_API_KEY: GROQ_KEY ?? '', LLM_TIMEOUT_MS: '30000' },
    });

    (GROQ_KEY ? it : it.skip)(
      `should hold a two-turn conversation on Groq${GROQ_KEY ? '' : ' (skipped: GROQ_API_KEY is unset)'}`,
      () => holdsMemory(t, 'groq/llama-3.1-8b'),
      60_000,
    );
  });

  describe('LM Studio', () => {
    const t = withTestApp({
      fake: false,
      env: { LMSTUDIO_BASE_URL: LMSTUDIO_URL, LLM_TIMEOUT_MS: '120000' },
    });

    (LMSTUDIO_UP ? it : it.skip)(
      `should hold a two-turn conversation on LM Studio${LMSTUDIO_UP ? '' : ` (skipped: nothing answers at ${LMSTUDIO_URL}/models)`}`,
      () => holdsMemory(t, 'lmstudio/default'),
      300_000,
    );
  });
});
