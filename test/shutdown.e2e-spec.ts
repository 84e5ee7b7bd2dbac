import { Client } from 'pg';

import { EmbeddedDatabase } from '../src/database/embedded-database';
import { FakeLlmServer } from './fake-llm/fake-llm-server';
import { removeDataDir, startAppProcess, tempDataDir } from './utils/app-process';
import { freePort } from './utils/free-port';
import { CONVERSATIONS, withTestApp } from './utils/harness';
import { ProductionBuild } from './utils/production-build';
import { openSse } from './utils/sse';

describe('Stopping the service (node dist/main.js)', () => {
  let build: ProductionBuild;
  let fake: FakeLlmServer;

  beforeAll(async () => {
    build = ProductionBuild.start();
    fake = new FakeLlmServer();
    await fake.start();
  });

  afterAll(async () => {
    build?.stop();
    await fake?.stop();
  });

  it('should drain on Ctrl-C (SIGINT to the process group), store the running reply complete and exit 0', async () => {
    const dataDir = tempDataDir();
    const dbPort = await freePort();
    const app = await startAppProcess(build, {
      env: {
        EMBEDDED_DB_DIR: dataDir,
        EMBEDDED_DB_PORT: String(dbPort),
        LMSTUDIO_BASE_URL: fake.openAiBaseUrl,
        LMSTUDIO_MODEL: 'fake-model',
      },
    });
    try {
      await app.waitUntilHealthy(90_000);
      const created = await fetch(`${app.url}${CONVERSATIONS}`, { method: 'POST' });
      const { id } = (await created.json()) as { id: string };
      fake.script({ kind: 'streamSlow', chunkDelayMs: 150 });
      const stream = await openSse(`${app.url}${CONVERSATIONS}/${id}/messages/stream`, {
        body: { message: 'one two three four five' },
      });
      await stream.waitFor('message.delta');

      // What a terminal does on Ctrl-C: SIGINT to every process of the foreground job.
      app.signalGroup('SIGINT');

      await stream.ended;
      const last = stream.events.at(-1)!;
      expect(last.event).toBe('message.completed');
      const reply = 'Echo: one two three four five [messages=2]';
      expect(JSON.parse(last.data).assistantMessage).toMatchObject({
        status: 'complete',
        content: reply,
      });
      expect(await app.exited).toEqual({ code: 0, signal: null });
      const output = app.output();
      expect(output.match(/"msg":"stopped"/g)).toHaveLength(1);
      expect(output).not.toMatch(/57P01|secretKey|terminating connection/);

      // The reply is in the database, not only in the stream.
      const database = new EmbeddedDatabase({ dataDir, port: dbPort });
      await database.start();
      try {
        const client = new Client({ connectionString: database.url('chat') });
        await client.connect();
        const rows = await client.query(
          'SELECT role, status, content FROM messages WHERE conversation_id = $1 ORDER BY seq',
          [id],
        );
        await client.end();
        expect(rows.rows).toEqual([
          { role: 'user', status: 'complete', content: 'one two three four five' },
          { role: 'assistant', status: 'complete', content: reply },
        ]);
      } finally {
        await database.stop();
      }
    } finally {
      app.kill();
      await removeDataDir(dataDir);
    }
  }, 180_000);
});

describe('Draining', () => {
  const t = withTestApp();

  it('should refuse new work with 503 shutting_down and fail readiness at once, while the running turn finishes', async () => {
    const app = await t.startApp();
    const [first, second] = await Promise.all([app.createConversation(), app.createConversation()]);
    t.fake.script({ kind: 'streamSlow', chunkDelayMs: 200 });
    const stream = await app.openStream(first, 'one two three four five');
    await stream.waitFor('message.delta');

    const closed = app.close();
    let ready: Response;
    do ready = await fetch(`${app.url}/health/ready`);
    while (ready.status === 200 && stream.events.at(-1)?.event === 'message.delta');
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ error: 'shutting_down' });

    for (const res of [
      await fetch(`${app.url}${CONVERSATIONS}`, { method: 'POST' }),
      await fetch(`${app.url}${CONVERSATIONS}/${second}/messages`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ message: 'too late' }),
      }),
    ]) {
      expect(res.status).toBe(503);
      expect(res.headers.get('connection')).toBe('close');
      expect(await res.json()).toMatchObject({ statusCode: 503, error: 'shutting_down' });
    }
    // Liveness stays up: the process is alive and finishing its work.
    expect((await fetch(`${app.url}/health`)).status).toBe(200);

    await stream.ended;
    expect(stream.events.at(-1)?.event).toBe('message.completed');
    await closed;
    expect(t.fake.requests).toHaveLength(1);
  });
});
