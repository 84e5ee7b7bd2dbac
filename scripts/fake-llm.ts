/**
 * Standalone fake OpenAI-compatible LLM for offline demos: `npx tsx scripts/fake-llm.ts`.
 *
 * Env: FAKE_LLM_PORT (default 1234, where LM Studio listens), FAKE_LLM_HOST (default 127.0.0.1),
 * FAKE_LLM_LATENCY_MS (delay before the first byte), FAKE_LLM_TOKEN_DELAY_MS (delay between
 * streamed chunks), FAKE_LLM_MODELS (comma-separated accepted model ids, default fake-model).
 * Reply format: see test/fake-llm/fake-llm-server.ts. It calls tools deterministically: a
 * request offering tools whose last user message names one gets a call to it (arguments: the
 * first JSON object in that message), and tool results are answered `Tool results: …`.
 */
import { FakeLlmServer } from '../test/fake-llm/fake-llm-server';

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0)
    throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  return value;
}

async function main(): Promise<void> {
  const port = envNumber('FAKE_LLM_PORT', 1234);
  const host = process.env.FAKE_LLM_HOST || '127.0.0.1';
  const models = (process.env.FAKE_LLM_MODELS ?? '')
    .split(',')
    .map((m) => m.trim())
    .filter(Boolean);
  const fake = new FakeLlmServer({
    latencyMs: envNumber('FAKE_LLM_LATENCY_MS', 0),
    tokenDelayMs: envNumber('FAKE_LLM_TOKEN_DELAY_MS', 0),
    models: models.length > 0 ? models : undefined,
  });
  const url = await fake.start(port, host);
  console.log(`Fake LLM listening on ${url}`);
  console.log(`  LM Studio / OpenAI-compatible base URL: ${fake.openAiBaseUrl}`);
  console.log(`  Groq: GROQ_BASE_URL=${url}`);
  console.log(`  Models: ${(models.length > 0 ? models : ['fake-model']).join(', ')}`);

  let stopping = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal} received, stopping fake LLM`);
    fake.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
