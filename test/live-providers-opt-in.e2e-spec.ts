import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { FakeLlmServer } from './fake-llm/fake-llm-server';

const ROOT = path.resolve(__dirname, '..');

interface JestReport {
  numFailedTests: number;
  testResults: { assertionResults: { title: string; status: string }[] }[];
}

/** `npm test` beside `npm run fake-llm`: the live tests must stay off unless asked. */
describe('Live provider tests', () => {
  let fake: FakeLlmServer;
  let dir: string;

  beforeAll(async () => {
    fake = new FakeLlmServer();
    await fake.start();
    dir = await mkdtemp(path.join(os.tmpdir(), 'chat-live-'));
  });

  afterAll(async () => {
    await fake?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('should skip, saying how to run them, while a fake server answers where LM Studio would', async () => {
    const report = path.join(dir, 'report.json');
    const env: NodeJS.ProcessEnv = { ...process.env, LMSTUDIO_BASE_URL: fake.openAiBaseUrl };
    for (const name of ['GROQ_API_KEY', 'LIVE_GROQ', 'LIVE_LMSTUDIO', 'JEST_WORKER_ID'])
      delete env[name];
    await promisify(execFile)(
      process.execPath,
      [
        require.resolve('jest/bin/jest'),
        '--selectProjects',
        'e2e',
        '--json',
        `--outputFile=${report}`,
        'test/live-providers.e2e-spec.ts',
      ],
      { cwd: ROOT, env },
    );
    const result = JSON.parse(await readFile(report, 'utf8')) as JestReport;
    const tests = result.testResults.flatMap((r) => r.assertionResults);
    expect(tests.map((t) => [t.status, t.title])).toEqual([
      [
        'pending',
        'should hold a two-turn conversation on Groq (skipped: set GROQ_API_KEY to run it)',
      ],
      [
        'pending',
        'should hold a two-turn conversation on LM Studio (skipped: set LIVE_LMSTUDIO=1 to run it)',
      ],
    ]);
    expect(fake.requests).toHaveLength(0);
  }, 120_000);
});
