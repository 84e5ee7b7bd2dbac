import { ChildProcess, spawn } from 'node:child_process';
import { getEventListeners, once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { AppException } from '../src/common/errors/app.exception';
import { ServerToolsService } from '../src/tools';
import { createTestDatabase, TestDatabase } from './utils/database';
import { freePort } from './utils/free-port';
import { CLOSED_PROVIDER_URL, waitUntil } from './utils/harness';
import { startTestApp, TestApp } from './utils/test-app';

const ROOT = path.resolve(__dirname, '..');
const STDIO_SERVER = path.join(ROOT, 'test/mcp/stdio-server.ts');
const HTTP_SERVER = path.join(ROOT, 'test/mcp/http-server.ts');
const TIMEOUT_MS = 1500;
const OUTPUT_MAX_BYTES = 1024;
const TOKEN = randomBytes(8).toString('hex');
/** Starting a server under tsx takes seconds on a busy machine. */
const START_MS = 45_000;

/** The Streamable HTTP test server on `port`, once it listens. */
async function startHttpServer(port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', HTTP_SERVER, String(port)], {
    cwd: ROOT,
    env: { ...process.env, MCP_TEST_TOKEN: TOKEN },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  await waitUntil(() => out.includes('listening') || child.exitCode !== null, START_MS);
  if (child.exitCode !== null) throw new Error(`the HTTP test server exited (${child.exitCode})`);
  return child;
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe(ServerToolsService.name, () => {
  let db: TestDatabase;
  let app: TestApp;
  let tools: ServerToolsService;
  let httpServer: ChildProcess;
  let httpPort: number;
  const file = path.join(os.tmpdir(), `mcp-servers-${randomBytes(6).toString('hex')}.json`);
  const signal = new AbortController().signal;
  const status = (name: string) => tools.health().find((s) => s.name === name)?.status;
  const call = (name: string, args: unknown) =>
    tools.call(name, typeof args === 'string' ? args : JSON.stringify(args), signal);

  beforeAll(async () => {
    httpPort = await freePort();
    httpServer = await startHttpServer(httpPort);
    const stdio = (...flags: string[]) => ({
      command: process.execPath,
      args: ['--import', 'tsx', STDIO_SERVER, ...flags],
      cwd: ROOT,
    });
    writeFileSync(
      file,
      JSON.stringify({
        mcpServers: {
          local: stdio(),
          web: {
            url: `http://127.0.0.1:${httpPort}/mcp`,
            headers: { Authorization: 'Bearer ${MCP_TEST_TOKEN}' },
          },
          broken: stdio('--crash-on-start'),
        },
      }),
    );
    db = await createTestDatabase();
    app = await startTestApp(db.url, {
      MCP_SERVERS_FILE: file,
      MCP_TEST_TOKEN: TOKEN,
      TOOL_TIMEOUT_MS: String(TIMEOUT_MS),
      TOOL_OUTPUT_MAX_BYTES: String(OUTPUT_MAX_BYTES),
      LMSTUDIO_BASE_URL: CLOSED_PROVIDER_URL,
    });
    tools = app.app.get(ServerToolsService);
    await waitUntil(() => status('local') === 'ready' && status('web') === 'ready', START_MS);
    await waitUntil(() => status('broken') === 'unavailable', START_MS);
  }, 2 * START_MS);

  let closed = false;
  const closeApp = async (): Promise<void> => {
    if (closed || !app) return;
    closed = true;
    await app.close();
  };

  afterAll(async () => {
    await closeApp();
    await db?.drop();
    httpServer?.kill('SIGKILL');
    rmSync(file, { force: true });
  });

  it('should list the tools of a stdio and a Streamable HTTP server under model-facing names', () => {
    const all = tools.resolve(['local/*']);
    expect(all.definitions.map((d) => d.name)).toEqual(
      expect.arrayContaining(['local__echo', 'local__add', 'local__hang', 'local__crash']),
    );
    expect(all.definitions.find((d) => d.name === 'local__add')).toMatchObject({
      description: 'Adds two numbers',
      parameters: { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } } },
    });
    // The SDK's servers add a top-level $schema, which some providers refuse.
    expect(all.definitions.every((d) => !('$schema' in (d.parameters ?? {})))).toBe(true);
    const one = tools.resolve(['web/add']);
    expect(one.definitions.map((d) => d.name)).toEqual(['web__add']);
    expect(one.has('web__add')).toBe(true);
    expect(one.has('local__add')).toBe(false);
    expect(one.unavailable).toEqual([]);
  });

  it('should call tools over both transports and hand back their text', async () => {
    await expect(call('local__echo', { text: 'héllo' })).resolves.toMatchObject({
      output: 'héllo',
      isError: false,
      outcome: 'ok',
    });
    const sum = await tools.resolve(['web/*']).call('web__add', '{"a": 2, "b": 40}', signal);
    expect(sum).toMatchObject({ output: '42', isError: false });
    expect(sum.durationMs).toBeGreaterThan(0);
    await expect(call('local__image', '')).resolves.toMatchObject({
      output: '[image: image/png, 70 bytes]\na 1x1 pixel',
      isError: false,
    });
    // A turn's signal serves many calls: none of them may leave a listener on it.
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
  });

  it('should hand back bad arguments and tool errors as error results, never throw', async () => {
    await expect(call('local__echo', '{"text": ')).resolves.toMatchObject({
      isError: true,
      outcome: 'bad_arguments',
      output: expect.stringMatching(/^Invalid arguments: not JSON .*JSON object\.$/),
    });
    await expect(call('local__echo', '["text"]')).resolves.toMatchObject({
      isError: true,
      output: expect.stringContaining('expected a JSON object, got an array'),
    });
    const wrongType = await call('web__add', { a: 'two', b: 2 });
    expect(wrongType).toMatchObject({ isError: true, output: expect.stringContaining('a') });
    await expect(call('local__fail', {})).resolves.toMatchObject({
      output: 'the tool failed on purpose',
      isError: true,
      outcome: 'error',
    });
    await expect(call('nowhere__thing', {})).resolves.toMatchObject({ outcome: 'unknown_tool' });
    const set = tools.resolve(['local/echo']);
    await expect(set.call('local__add', '{}', signal)).resolves.toMatchObject({
      isError: true,
      output: expect.stringContaining('use one of: local__echo'),
    });
  });

  it('should give up on a hung tool after TOOL_TIMEOUT_MS and keep the server usable', async () => {
    const started = performance.now();
    const result = await call('local__hang', {});
    const elapsed = performance.now() - started;
    expect(result).toMatchObject({ isError: true, outcome: 'timeout' });
    expect(result.output).toBe(
      `local/hang did not answer within ${TIMEOUT_MS} ms and was cancelled.`,
    );
    expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 5);
    expect(elapsed).toBeLessThan(TIMEOUT_MS + 1000);
    await expect(call('local__echo', { text: 'still here' })).resolves.toMatchObject({
      output: 'still here',
    });
  });

  it('should stop a running tool when its signal aborts', async () => {
    const abort = new AbortController();
    setTimeout(() => abort.abort(new Error('turn cancelled')), 200);
    const started = performance.now();
    const result = await tools.call('web__slow', '{"ms": 10000}', abort.signal);
    expect(result).toMatchObject({ isError: true, outcome: 'cancelled' });
    expect(result.output).toBe('The call of web/slow was cancelled.');
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('should cut an output past TOOL_OUTPUT_MAX_BYTES and say so', async () => {
    const result = await call('local__big', { bytes: 5000, char: 'é' });
    expect(result.isError).toBe(false);
    expect(Buffer.byteLength(result.output)).toBeLessThanOrEqual(OUTPUT_MAX_BYTES);
    expect(result.output).toMatch(/^é+\n\[output cut: the first \d+ of 5000 bytes shown\]$/);
  });

  it('should refuse an unknown server or a malformed pattern, naming the servers', () => {
    const refusal = (patterns: string[]): AppException => {
      try {
        tools.resolve(patterns);
      } catch (error) {
        return error as AppException;
      }
      throw new Error('expected a refusal');
    };
    const unknown = refusal(['local/echo', 'nowhere/*']);
    expect(unknown).toBeInstanceOf(AppException);
    expect(unknown).toMatchObject({ code: 'unknown_server_tool', status: 400 });
    expect(unknown.message).toBe(
      'serverTools entry "nowhere/*" names unknown MCP server "nowhere"; configured MCP servers: local, web, broken',
    );
    for (const bad of ['local', 'local/', '/echo', 'local/two words'])
      expect(refusal([bad]).message).toContain(`serverTools entry ${JSON.stringify(bad)} is not`);
    expect(() => tools.validatePatterns(['local/*', 'web/add', 'broken/*'])).not.toThrow();
    expect(() => tools.validatePatterns(['nowhere/x'])).toThrow(AppException);
  });

  it('should leave a server that did not start out of a set and show it down in /health/ready', async () => {
    const set = tools.resolve(['broken/*', 'local/echo', 'local/nope']);
    expect(set.definitions.map((d) => d.name)).toEqual(['local__echo']);
    expect(set.unavailable).toEqual([
      {
        server: 'broken',
        status: 'unavailable',
        reason: 'the process exited before it finished starting (its stderr is in the service log)',
      },
    ]);
    expect(set.missing).toEqual(['local/nope']);
    await expect(call('broken__anything', {})).resolves.toMatchObject({ outcome: 'unavailable' });

    const ready = await app.http.get('/health/ready').expect(200);
    expect(ready.body.checks['mcp:broken']).toEqual({
      status: 'down',
      latencyMs: null,
      tools: 0,
      reason: 'the process exited before it finished starting (its stderr is in the service log)',
    });
    expect(ready.body.checks['mcp:local']).toEqual({ status: 'up', latencyMs: null, tools: 10 });
    expect(ready.body.checks['mcp:web']).toMatchObject({ status: 'up', tools: 10 });
  });

  it('should follow tools/list_changed', async () => {
    expect(tools.resolve(['local/grown']).definitions).toEqual([]);
    await expect(call('local__grow', {})).resolves.toMatchObject({ output: 'added grown' });
    await waitUntil(() => tools.resolve(['local/grown']).definitions.length === 1);
    await expect(call('local__grown', {})).resolves.toMatchObject({ output: 'grown' });
  });

  it('should restart a stdio server that crashed during a call', async () => {
    const before = Number((await call('local__pid', {})).output);
    const crashed = await call('local__crash', {});
    expect(crashed).toMatchObject({ isError: true, outcome: 'unavailable' });
    expect(crashed.output).toBe(
      'The tool server "local" stopped while running local/crash; it is being restarted.',
    );
    expect(status('local')).not.toBe('ready');
    await waitUntil(() => status('local') === 'ready', START_MS);
    const after = Number((await call('local__pid', {})).output);
    expect(after).not.toBe(before);
    expect(isAlive(before)).toBe(false);
  });

  it('should reconnect to a Streamable HTTP server that went away and came back', async () => {
    httpServer.kill('SIGKILL');
    await once(httpServer, 'exit');
    const down = await call('web__echo', { text: 'anyone?' });
    expect(down).toMatchObject({ isError: true, outcome: 'unavailable' });
    expect(status('web')).not.toBe('ready');
    httpServer = await startHttpServer(httpPort);
    await waitUntil(() => status('web') === 'ready', START_MS);
    await expect(call('web__echo', { text: 'back' })).resolves.toMatchObject({ output: 'back' });
  });

  it('should count calls by server and outcome in /metrics', async () => {
    const metrics = await app.http.get('/metrics').expect(200);
    expect(metrics.text).toMatch(/^tool_calls_total\{server="local",outcome="ok"\} [1-9]/m);
    expect(metrics.text).toMatch(/^tool_calls_total\{server="local",outcome="timeout"\} 1$/m);
    expect(metrics.text).toMatch(/^tool_call_duration_seconds_count\{server="web"\} [1-9]/m);
    expect(metrics.text).toMatch(/^mcp_server_ready\{server="broken"\} 0$/m);
    expect(metrics.text).toMatch(/^mcp_server_ready\{server="local"\} 1$/m);
  });

  it('should stop the stdio servers and end the HTTP sessions when the app shuts down', async () => {
    const pid = Number((await call('local__pid', {})).output);
    const sessions = async (): Promise<number> => {
      const res = await fetch(`http://127.0.0.1:${httpPort}/sessions`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      return ((await res.json()) as { open: number }).open;
    };
    expect(isAlive(pid)).toBe(true);
    expect(await sessions()).toBe(1);
    await closeApp();
    expect(isAlive(pid)).toBe(false);
    expect(await sessions()).toBe(0);
    expect(status('local')).toBe('unavailable');
  });
});
