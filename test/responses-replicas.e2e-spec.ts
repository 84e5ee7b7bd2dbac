import OpenAI from 'openai';
import type { ResponseStreamEvent } from 'openai/resources/responses/responses';

import { FakeLlmServer } from './fake-llm/fake-llm-server';
import { AppProcess, startAppProcess } from './utils/app-process';
import { createTestDatabase, TestDatabase } from './utils/database';
import { ProductionBuild } from './utils/production-build';

const ALIAS = 'lmstudio/default';

async function until<T>(check: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const giveUpAt = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > giveUpAt) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function collect(stream: AsyncIterable<ResponseStreamEvent>): Promise<ResponseStreamEvent[]> {
  const events: ResponseStreamEvent[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

describe('The Responses door on two replicas (real processes)', () => {
  let db: TestDatabase;
  let fake: FakeLlmServer;
  const build = ProductionBuild.start();
  let a: AppProcess;
  let b: AppProcess;
  const sdk = (replica: AppProcess): OpenAI =>
    new OpenAI({ baseURL: `${replica.url}/v1`, apiKey: 'not-needed', maxRetries: 0 });

  beforeAll(async () => {
    db = await createTestDatabase();
    fake = new FakeLlmServer();
    await fake.start();
    await build.ready();
    const env = {
      DATABASE_URL: db.url,
      LMSTUDIO_BASE_URL: fake.openAiBaseUrl,
      LMSTUDIO_MODEL: 'fake-model',
      DEFAULT_MODEL: ALIAS,
      LOG_LEVEL: 'warn',
      CHECKPOINT_MS: '200',
      PROCESS_HEARTBEAT_MS: '250',
      PROCESS_DEAD_AFTER_MS: '1500',
    };
    [a, b] = await Promise.all(
      [0, 1].map(async () => {
        const replica = await startAppProcess(build, { env });
        await replica.waitUntilHealthy();
        return replica;
      }),
    );
  }, 120_000);

  afterAll(async () => {
    for (const replica of [a, b]) replica?.kill();
    await fake?.stop();
    await db?.drop();
  });

  beforeEach(() => fake.reset());

  it('should retrieve and stream on one replica a response running on the other', async () => {
    fake.script({ kind: 'streamSlow', chunkDelayMs: 150 });
    const created = await sdk(a).responses.create({
      model: ALIAS,
      input: 'one two three four five six',
      background: true,
    });
    const running = await until(async () => {
      const seen = await sdk(b).responses.retrieve(created.id);
      return seen.status === 'in_progress' ? seen : undefined;
    });
    expect(running.id).toBe(created.id);

    const followed = await collect(await sdk(b).responses.retrieve(created.id, { stream: true }));
    expect(followed.map((e) => e.sequence_number)).toEqual(followed.map((_, i) => i));
    expect(followed.at(-1)).toMatchObject({
      type: 'response.completed',
      response: { output_text: 'Echo: one two three four five six [messages=2]' },
    });
    // Resumed on the replica that ran it, after the same event: the same events follow.
    const resumed = await collect(
      await sdk(a).responses.retrieve(created.id, { stream: true, starting_after: 6 }),
    );
    expect(resumed).toEqual(followed.slice(7));
  });

  it('should cancel from one replica a response running on the other', async () => {
    // A reply that never comes: an endless one could reach its length cap under load first.
    fake.script({ kind: 'hang' });
    const created = await sdk(a).responses.create({
      model: ALIAS,
      input: 'go on',
      background: true,
    });
    await until(async () => {
      const seen = await sdk(b).responses.retrieve(created.id);
      return seen.status === 'in_progress' ? true : undefined;
    });
    await until(() => Promise.resolve(fake.requests.length > 0 ? true : undefined));
    const cancelled = await sdk(b).responses.cancel(created.id);
    expect(cancelled.status).toBe('cancelled');
    await until(() => Promise.resolve(fake.requests[0]?.aborted || undefined));
    expect((await sdk(a).responses.retrieve(created.id)).status).toBe('cancelled');
  });

  it('should continue on one replica a conversation another replica holds', async () => {
    const first = await sdk(a).responses.create({ model: ALIAS, input: 'remember me' });
    const second = await sdk(b).responses.create({
      model: ALIAS,
      input: 'who?',
      previous_response_id: first.id,
    });
    expect(second.output_text).toBe('Echo: who? [messages=4]');
    const items = await sdk(a).conversations.items.list(first.conversation!.id, { order: 'asc' });
    expect(items.data).toHaveLength(4);
  });
});
