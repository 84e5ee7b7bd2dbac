import { Browser, BrowserContext, Locator, Page } from 'playwright-core';

import { launchChromium } from './utils/chromium';
import { withTestApp } from './utils/harness';

/** Chromium starts slowly on small CI machines. */
const TIMEOUT_MS = 60_000;

const CREATE_OPERATION = '#operations-conversations-createConversation';
const SEND_OPERATION = '#operations-chat-sendMessage';
const STREAM_OPERATION = '#operations-chat-streamMessage';
const UPLOAD_OPERATION = '#operations-files-uploadFile';
const TITLE = 'From Swagger UI';
/** A 1×1 PNG, to upload with a misleading name. */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);

describe('Swagger UI', () => {
  const t = withTestApp({ env: { LMSTUDIO_MODEL: 'fake-model' } });
  /** Swagger UI under http://chat.test:<port>, not localhost. */
  const docsUrl = (): string => `${t.url.replace('127.0.0.1', 'chat.test')}/docs`;
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  /** Browser-side problems (console errors and warnings, uncaught errors, failed requests). */
  const problems: string[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    // A host name that is not localhost, as behind `docker compose up`: browsers treat plain
    // http there as insecure (no https upgrade may be forced on it).
    browser = await launchChromium(['--host-resolver-rules=MAP chat.test 127.0.0.1']);
    context = await browser.newContext();
  }, TIMEOUT_MS);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    if (problems.length > 0) console.warn(`Swagger UI browser problems:\n${problems.join('\n')}`);
  }, TIMEOUT_MS);

  function watch(page: Page): void {
    page.on('console', (msg) => {
      if (msg.type() === 'error' || msg.type() === 'warning')
        problems.push(`console.${msg.type()}: ${msg.text()}`);
    });
    page.on('pageerror', (error) => {
      pageErrors.push(error.message);
      problems.push(`pageerror: ${error.message}`);
    });
    page.on('requestfailed', (req) =>
      problems.push(`requestfailed: ${req.method()} ${req.url()} ${req.failure()?.errorText}`),
    );
    page.on('response', (res) => {
      if (res.status() >= 400) problems.push(`HTTP ${res.status()}: ${res.url()}`);
    });
  }

  async function openDocs(page: Page): Promise<void> {
    await page.goto(docsUrl());
    await page.locator('.swagger-ui .info .title').filter({ hasText: 'Chat backend' }).waitFor();
  }

  /** Expands an operation, fills its path id and JSON body, executes it; returns the response. */
  async function tryItOut(
    page: Page,
    selector: string,
    id: string,
    body: unknown,
  ): Promise<{ status: string; text: string }> {
    const operation = page.locator(selector);
    await operation.locator('.opblock-summary').first().click();
    await operation.locator('.try-out__btn').click();
    await operation.locator('tr[data-param-name="id"] input').fill(id);
    await operation.locator('textarea.body-param__text').fill(JSON.stringify(body));
    await operation.locator('.execute').click();
    const response: Locator = operation.locator(
      '.responses-wrapper .live-responses-table .response',
    );
    const status = (await response.locator('.response-col_status').first().textContent()) ?? '';
    const text =
      (await response.locator('.response-col_description .microlight').first().textContent()) ?? '';
    return { status: status.trim(), text };
  }

  it(
    'should send a message and stream a reply through "Try it out", leaving Idempotency-Key empty',
    async () => {
      if (!context) throw new Error('setup failed');
      const id = await t.createConversation();
      const page = await context.newPage();
      watch(page);
      await openDocs(page);

      const sent = await tryItOut(page, SEND_OPERATION, id, { message: 'Hello from Swagger UI' });
      expect(sent.status).toMatch(/^201\b/);
      expect(JSON.parse(sent.text)).toMatchObject({
        response: 'Echo: Hello from Swagger UI [messages=2]',
      });

      const streamed = await tryItOut(page, STREAM_OPERATION, id, { message: 'Stream it' });
      expect(streamed.status).toMatch(/^200\b/);
      expect(streamed.text).toContain('event: message.delta');
      expect(streamed.text).toContain('event: message.completed');
      expect(streamed.text).toContain('Echo: Stream it [messages=4]');

      const stored = await t.storedMessages(id);
      expect(stored.map((m) => [m.role, m.status])).toEqual([
        ['user', 'complete'],
        ['assistant', 'complete'],
        ['user', 'complete'],
        ['assistant', 'complete'],
      ]);
      expect(pageErrors).toEqual([]);
      await page.close();
    },
    TIMEOUT_MS,
  );

  it(
    'should create a conversation through "Try it out" and store it',
    async () => {
      if (!context) throw new Error('setup failed');
      const page = await context.newPage();
      watch(page);

      await openDocs(page);

      const operation = page.locator(CREATE_OPERATION);
      await operation.locator('.opblock-summary').first().click();
      await operation.locator('.try-out__btn').click();

      const body = operation.locator('textarea.body-param__text');
      await body.fill(JSON.stringify({ title: TITLE }));
      await operation.locator('.execute').click();

      const response = operation.locator('.responses-wrapper .live-responses-table .response');
      // The cell reads "201" (plus an "Undocumented" badge when the spec lacks that response).
      const status = await response.locator('.response-col_status').first().textContent();
      expect(status?.trim()).toMatch(/^201\b/);
      const text =
        (await response
          .locator('.response-col_description .highlight-code .microlight')
          .first()
          .textContent()) ?? '';
      expect(text).toContain(TITLE);
      const created = JSON.parse(text) as { id: string; title: string };
      expect(created.title).toBe(TITLE);

      const stored = await t.prisma.conversation.findUnique({ where: { id: created.id } });
      // Only what was typed was sent: the prefilled example (systemPrompt, model, …) was replaced.
      expect(stored).toMatchObject({ title: TITLE, systemPrompt: null, model: null });
      expect(pageErrors).toEqual([]);

      await page.close();
    },
    TIMEOUT_MS,
  );

  it(
    'should upload a file through "Try it out" (a multipart form with a file picker)',
    async () => {
      if (!context) throw new Error('setup failed');
      const page = await context.newPage();
      watch(page);
      await openDocs(page);

      const operation = page.locator(UPLOAD_OPERATION);
      await operation.locator('.opblock-summary').first().click();
      await operation.locator('.try-out__btn').click();
      await operation
        .locator('input[type="file"]')
        .setInputFiles({ name: 'picked.txt', mimeType: 'text/plain', buffer: PNG });
      await operation.locator('.execute').click();

      const response = operation.locator('.responses-wrapper .live-responses-table .response');
      const status = await response.locator('.response-col_status').first().textContent();
      expect(status?.trim()).toMatch(/^201\b/);
      const text =
        (await response.locator('.response-col_description .microlight').first().textContent()) ??
        '';
      expect(JSON.parse(text)).toMatchObject({
        filename: 'picked.txt',
        mimeType: 'image/png',
        kind: 'image',
      });
      expect(pageErrors).toEqual([]);
      await page.close();
    },
    TIMEOUT_MS,
  );
});
