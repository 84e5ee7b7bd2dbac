import { AppClient, withTestApp } from './utils/harness';

/**
 * Against the real services, only when asked: GROQ_API_KEY (or LIVE_GROQ=1) for Groq,
 * LIVE_LMSTUDIO=1 for LM Studio. Something answering on LM Studio's port is not asking:
 * it may be the fake server of the Quick start. Skipped tests say in their name how to
 * run them; a test that was asked for fails when its provider is not there.
 */
const GROQ_KEY = process.env.GROQ_API_KEY;
const LIVE_GROQ = Boolean(GROQ_KEY) || process.env.LIVE_GROQ === '1';
const LIVE_LMSTUDIO = process.env.LIVE_LMSTUDIO === '1';
const LMSTUDIO_URL = process.env.LMSTUDIO_BASE_URL ?? 'http://localhost:1234/v1';

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

    (LIVE_GROQ ? it : it.skip)(
      `should hold a two-turn conversation on Groq${LIVE_GROQ ? '' : ' (skipped: set GROQ_API_KEY to run it)'}`,
      () => {
        if (!GROQ_KEY) throw new Error('LIVE_GROQ=1 needs GROQ_API_KEY');
        return holdsMemory(t, 'groq/llama-3.1-8b');
      },
      60_000,
    );
  });

  describe('LM Studio', () => {
    const t = withTestApp({
      fake: false,
      env: { LMSTUDIO_BASE_URL: LMSTUDIO_URL, LLM_TIMEOUT_MS: '120000' },
    });

    (LIVE_LMSTUDIO ? it : it.skip)(
      `should hold a two-turn conversation on LM Studio${LIVE_LMSTUDIO ? ` at ${LMSTUDIO_URL}` : ' (skipped: set LIVE_LMSTUDIO=1 to run it)'}`,
      () => holdsMemory(t, 'lmstudio/default'),
      300_000,
    );
  });
});
