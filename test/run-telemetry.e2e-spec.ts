import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { withTestApp } from './utils/harness';

const runsDir = mkdtempSync(path.join(os.tmpdir(), 'runs-'));
const messagesDir = mkdtempSync(path.join(os.tmpdir(), 'runs-messages-'));

/** The one run folder a start wrote under `root`. */
function runFolder(root: string): string {
  const runs = readdirSync(root);
  expect(runs).toHaveLength(1);
  return path.join(root, runs[0]);
}

function lines(file: string): Record<string, unknown>[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('RunTelemetry', () => {
  const t = withTestApp({
    groq: 'same-fake',
    env: {
      RUNS_DIR: runsDir,
      OPENAI_BASE_URL: 'http://proxy-user:proxy-pass@127.0.0.1:9/v1?api_key=hidden-too',
    },
  });

  it('should write a manifest and one line per provider call: whole, streamed, failed', async () => {
    const id = await t.createConversation();
    const whole = await t.send(id, 'hello there', { headers: { 'X-Correlation-ID': 'run-1' } });
    await t.stream(id, 'and streamed', { headers: { 'X-Correlation-ID': 'run-2' } });
    t.fake.script({ kind: 'error', status: 401 });
    await t.send(id, 'refused', { expect: 502, headers: { 'X-Correlation-ID': 'run-3' } });
    // Stopping the app flushes the stream; the lines are read back from disk.
    await t.close();

    const dir = runFolder(runsDir);
    const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as {
      runId: string;
      config: Record<string, unknown>;
      [key: string]: unknown;
    };
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as Record<string, unknown>;
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
    expect(manifest).toMatchObject({
      runId: path.basename(dir),
      startedAt: expect.any(String),
      gitSha: head,
      version: pkg.version,
      node: process.version,
      dependencies: pkg.dependencies,
    });
    expect(manifest.config).toMatchObject({
      RUNS_DIR: runsDir,
      GROQ_API_KEY: '***',
      LOG_MESSAGES: false,
      JWT_SECRET: null,
      OPENAI_BASE_URL: 'http://***@127.0.0.1:9/v1?api_key=***',
    });
    // Every variable the service reads is there; no secret is.
    expect(Object.keys(manifest.config)).toEqual(expect.arrayContaining(['PORT', 'AUTH_MODE']));
    const text = JSON.stringify(manifest);
    for (const secret of ['test-groq-key', 'proxy-pass', 'hidden-too'])
      expect(text).not.toContain(secret);

    const calls = lines(path.join(dir, 'interactions.jsonl'));
    expect(calls).toEqual([
      expect.objectContaining({
        correlationId: 'run-1',
        alias: 'lmstudio/default',
        provider: 'lmstudio',
        upstreamModel: 'fake-model',
        mode: 'complete',
        outcome: 'complete',
        errorCode: null,
        finishReason: 'stop',
        usage: { promptTokens: whole.body.usage.promptTokens, completionTokens: 4 },
      }),
      expect.objectContaining({ correlationId: 'run-2', mode: 'stream', outcome: 'complete' }),
      expect.objectContaining({
        correlationId: 'run-3',
        outcome: 'failed',
        errorCode: 'provider_auth_failed',
        usage: null,
      }),
    ]);
    for (const call of calls) {
      expect(call.latencyMs).toEqual(expect.any(Number));
      expect(call).not.toHaveProperty('messages');
      expect(call).not.toHaveProperty('reply');
    }
    expect(calls[1].ttftMs).toEqual(expect.any(Number));
    expect(calls[2].ttftMs).toBeNull();
  });

  it('should carry the texts with LOG_MESSAGES=true, and rotate at RUNS_MAX_BYTES', async () => {
    const app = await t.startApp({
      env: { RUNS_DIR: messagesDir, LOG_MESSAGES: 'true', RUNS_MAX_BYTES: '1024' },
    });
    // A conversation each: small prompts, so a file holds a few lines.
    for (let i = 0; i < 6; i++)
      await app.send(await app.createConversation(), `message number ${i} ${'x'.repeat(100)}`);
    await app.close();

    const dir = runFolder(messagesDir);
    const files = readdirSync(dir).sort();
    expect(files).toEqual(
      expect.arrayContaining(['interactions.1.jsonl', 'interactions.jsonl', 'manifest.json']),
    );
    // Oldest first: the highest-numbered rotated file, down to the current one.
    const rotated = files.filter((f) => /^interactions\.\d+\.jsonl$/.test(f)).reverse();
    const calls = [...rotated, 'interactions.jsonl'].flatMap((f) => lines(path.join(dir, f)));
    for (const f of files.filter((f) => f.startsWith('interactions')))
      expect(readFileSync(path.join(dir, f)).length).toBeLessThanOrEqual(1024);
    // A line here is about 800 bytes: one per file; the current file and 3 rotated are kept.
    expect(files).toHaveLength(5);
    expect(calls.map((call) => /number (\d)/.exec(String(call.reply))?.[1])).toEqual([
      '2',
      '3',
      '4',
      '5',
    ]);
    expect(calls[3]).toMatchObject({
      messages: expect.arrayContaining([
        { role: 'user', content: `message number 5 ${'x'.repeat(100)}` },
      ]),
      reply: expect.stringContaining('message number 5'),
    });
  });
});
