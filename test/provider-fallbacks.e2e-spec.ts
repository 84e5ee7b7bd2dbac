import { rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { FakeLlmServer } from './fake-llm/fake-llm-server';
import { CLOSED_PROVIDER_URL, withTestApp } from './utils/harness';
import { streamedText } from './utils/sse';

const KEY = 'sk-keyed-fake-0001';

describe('Providers of the models file, fallbacks and cooldown', () => {
  // A cloud-like provider that wants its key, and one that fails while asked to.
  const keyed = new FakeLlmServer({ apiKey: KEY, models: ['keyed-model'] });
  const flaky = new FakeLlmServer({ models: ['flaky-model'] });
  const file = path.join(os.tmpdir(), `models-fallbacks-${process.pid}.json`);

  beforeAll(async () => {
    await Promise.all([keyed.start(), flaky.start()]);
    const models = {
      providers: {
        keyed: {
          type: 'openai-compatible',
          baseUrl: keyed.openAiBaseUrl,
          apiKeyEnv: 'KEYED_FAKE_KEY',
        },
        dead: { type: 'openai-compatible', baseUrl: CLOSED_PROVIDER_URL },
        flaky: { type: 'openai-compatible', baseUrl: flaky.openAiBaseUrl, probe: false },
      },
      models: [
        { alias: 'keyed/chat', provider: 'keyed', model: 'keyed-model', contextWindow: 8192 },
        {
          alias: 'dead/chat',
          provider: 'dead',
          model: 'fake-model',
          contextWindow: 8192,
          fallbacks: ['keyed/chat'],
        },
        {
          alias: 'flaky/chat',
          provider: 'flaky',
          model: 'flaky-model',
          contextWindow: 8192,
          fallbacks: ['keyed/chat'],
        },
      ],
    };
    writeFileSync(file, JSON.stringify(models));
  });

  afterAll(async () => {
    rmSync(file, { force: true });
    await Promise.all([keyed.stop(), flaky.stop()]);
  });

  const t = withTestApp({
    env: () => ({
      MODELS_FILE: file,
      KEYED_FAKE_KEY: KEY,
      LLM_MAX_RETRIES: '0',
      PROVIDER_FAILURES_TO_OPEN: '3',
      PROVIDER_COOLDOWN_MS: '600000',
    }),
  });

  beforeEach(() => {
    keyed.reset();
    flaky.reset();
  });

  async function manifestOf(conversationId: string, messageId: string) {
    const res = await t.http.get(
      `/api/v1/conversations/${conversationId}/messages/${messageId}/context`,
    );
    expect(res.status).toBe(200);
    return res.body as { model: string; tried?: { alias: string; errorCode: string }[] };
  }

  it('should send the key named by apiKeyEnv to a provider of the models file', async () => {
    const id = await t.createConversation({ model: 'keyed/chat' });
    const res = await t.send(id, 'hello');
    expect(res.body.response).toBe('Echo: hello [messages=2]');
    expect(keyed.refusedKeys).toBe(0);
    expect(keyed.requests.map((r) => r.headers.authorization)).toEqual([`Bearer ${KEY}`]);
  });

  it('should answer a whole reply from the fallback when the upstream is down, saying so', async () => {
    const id = await t.createConversation({ model: 'dead/chat' });
    const res = await t.send(id, 'anyone there?');
    expect(res.body.response).toBe('Echo: anyone there? [messages=2]');
    expect(res.body.model).toBe('keyed/chat');
    expect(res.body.assistantMessage).toMatchObject({
      model: 'keyed/chat',
      upstreamModel: 'keyed-model',
    });
    const manifest = await manifestOf(id, res.body.assistantMessage.id);
    expect(manifest.model).toBe('keyed/chat');
    expect(manifest.tried).toEqual([{ alias: 'dead/chat', errorCode: 'provider_unavailable' }]);
  });

  it('should stream the reply of the fallback when the upstream is down', async () => {
    const id = await t.createConversation({ model: 'dead/chat' });
    const stream = await t.stream(id, 'stream please');
    expect(streamedText(stream.events)).toBe('Echo: stream please [messages=2]');
    const completed = stream.events.find((e) => e.event === 'message.completed');
    const { assistantMessage } = JSON.parse(completed!.data) as {
      assistantMessage: { id: string; model: string };
    };
    expect(assistantMessage.model).toBe('keyed/chat');
    expect((await manifestOf(id, assistantMessage.id)).tried).toEqual([
      { alias: 'dead/chat', errorCode: 'provider_unavailable' },
    ]);
  });

  it('should leave a provider alone after PROVIDER_FAILURES_TO_OPEN failures, and say so', async () => {
    const id = await t.createConversation({ model: 'flaky/chat' });
    flaky.script(
      { kind: 'error', status: 503 },
      { kind: 'error', status: 500 },
      { kind: 'error', status: 503 },
    );
    for (let turn = 1; turn <= 3; turn++) {
      const res = await t.send(id, `turn ${turn}`);
      expect(res.body.model).toBe('keyed/chat');
      expect(flaky.requests).toHaveLength(turn);
    }
    const ready = await t.http.get('/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body.checks['provider:flaky']).toMatchObject({
      status: 'down',
      circuit: 'open',
      reason: expect.stringContaining('failed 3 times in a row'),
    });
    expect(ready.body.checks['provider:keyed']).toMatchObject({ circuit: 'closed' });
    const metrics = await t.http.get('/metrics');
    expect(metrics.text).toContain('llm_provider_circuit_open{provider="flaky"} 1');
    expect(metrics.text).toContain('llm_provider_circuit_open{provider="keyed"} 0');

    // Open: the next turn goes straight to the fallback, without a request upstream.
    const res = await t.send(id, 'turn 4');
    expect(res.body.response).toBe('Echo: turn 4 [messages=8]');
    expect(flaky.requests).toHaveLength(3);
    const manifest = await manifestOf(id, res.body.assistantMessage.id);
    expect(manifest.tried).toEqual([{ alias: 'flaky/chat', errorCode: 'provider_unavailable' }]);
  });

  it('should list each alias with its fallbacks', async () => {
    const res = await t.http.get('/api/v1/models');
    const byAlias = Object.fromEntries(
      (res.body.data as { alias: string; fallbacks: string[] }[]).map((m) => [m.alias, m]),
    );
    expect(byAlias['dead/chat'].fallbacks).toEqual(['keyed/chat']);
    expect(byAlias['keyed/chat'].fallbacks).toEqual([]);
  });
});
