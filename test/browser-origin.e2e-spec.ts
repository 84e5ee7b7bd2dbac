import { readFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';

import type { Browser, Page } from 'playwright-core';

import { launchChromium } from './utils/chromium';
import { AppClient, withTestApp } from './utils/harness';

const PAGE_FILE = path.join(__dirname, 'browser', 'cross-origin-page.html');
const OPENAI_DIR = path.dirname(require.resolve('openai/index.mjs'));
const LOCAL_SECRET = 'browser-local-secret-long-enough-0123456789';
const PASSWORD = 'correct horse battery staple';

/**
 * A frontend's own server on another port (another origin, as a Vite dev server is): the
 * page, and the `openai` package's ESM build as a browser loads it.
 */
async function startPageServer(): Promise<{ origin: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://page');
    const file = url.pathname.startsWith('/openai/')
      ? path.join(OPENAI_DIR, path.normalize(url.pathname.slice('/openai/'.length)))
      : PAGE_FILE;
    if (!file.startsWith(OPENAI_DIR) && file !== PAGE_FILE) return void res.writeHead(404).end();
    readFile(file).then(
      (body) => {
        const type = file.endsWith('.html') ? 'text/html' : 'text/javascript';
        res.writeHead(200, { 'Content-Type': `${type}; charset=utf-8` }).end(body);
      },
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    // "localhost", not 127.0.0.1: the API is on 127.0.0.1, so the page is cross-origin.
    origin: `http://localhost:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('A page on another origin, in Chromium', () => {
  // AUTH_MODE=none on loopback: the localhost development default, no CORS_ORIGINS.
  const t = withTestApp({
    env: { HOST: '127.0.0.1', LMSTUDIO_MODEL: 'fake-model' },
    fake: { tokenDelayMs: 40 },
  });
  let browser: Browser;
  let pageServer: Awaited<ReturnType<typeof startPageServer>>;

  beforeAll(async () => {
    [browser, pageServer] = await Promise.all([launchChromium(), startPageServer()]);
  });
  afterAll(async () => {
    await browser?.close();
    await pageServer?.close();
  });

  /** The page, opened against `app`, once its module has loaded. */
  async function openPage(app: AppClient): Promise<Page> {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    await page.goto(`${pageServer.origin}/?api=${encodeURIComponent(app.url)}`);
    await page
      .waitForFunction('window.ready === true', undefined, { timeout: 10_000 })
      .catch(() => {
        throw new Error(`the page did not load: ${problems.join('; ')}`);
      });
    return page;
  }

  it('should POST a conversation and read a streamed reply with fetch', async () => {
    const page = await openPage(t);
    const result = await page.evaluate('tests.streamMessage()');
    expect(result).toEqual({
      status: 200,
      events: expect.arrayContaining(['message.created', 'message.delta', 'message.completed']),
      reply: expect.stringMatching(/^Echo: Hello from the page \[messages=\d\]$/),
      correlationId: expect.any(String),
      requestId: expect.any(String),
    });
    const { correlationId, requestId } = result as Record<string, string>;
    expect(requestId).toBe(correlationId);
    await page.close();
  });

  it('should run the openai package (dangerouslyAllowBrowser) against /v1', async () => {
    const page = await openPage(t);
    const result = await page.evaluate('tests.openaiSdk()');
    expect(result).toEqual({
      content: 'Echo: Hi from the SDK [messages=1]',
      requestId: expect.any(String),
      streamed: 'Echo: Hi from the SDK [messages=1]',
    });
    await page.close();
  });

  it('should stream a reply over a WebSocket from the page', async () => {
    const page = await openPage(t);
    expect(await page.evaluate('tests.webSocket()')).toEqual({
      protocol: 'chat.v1',
      text: expect.stringMatching(/^Echo: Over a socket \[messages=\d\]$/),
    });
    await page.close();
  });

  it('should resume generation events with EventSource and ?access_token= (AUTH_MODE=local)', async () => {
    const origin = pageServer.origin;
    const app = await t.startApp({
      env: { AUTH_MODE: 'local', LOCAL_JWT_SECRET: LOCAL_SECRET, CORS_ORIGINS: origin },
    });
    await app.http.post('/api/v1/auth/register').send({ username: 'page', password: PASSWORD });
    const signedIn = await app.http
      .post('/api/v1/auth/token')
      .send({ username: 'page', password: PASSWORD });
    const page = await openPage(app);
    const token = signedIn.body.access_token as string;
    const result = await page.evaluate<{ before: string; after: string; stored: string }>(
      `tests.resumeWithEventSource(${JSON.stringify(token)})`,
    );
    expect(result.before.length).toBeGreaterThan(0);
    expect(result.after.length).toBeGreaterThan(0);
    expect(result.before + result.after).toBe(result.stored);
    expect(result.stored).toMatch(/^Echo: one two three four five six seven eight \[/);
    await page.close();
  });
});
