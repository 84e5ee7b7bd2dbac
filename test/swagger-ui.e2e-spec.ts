import { existsSync } from 'node:fs';

import { Browser, BrowserContext, chromium, Page } from 'playwright-core';

import { withTestApp } from './utils/harness';

/** Debian's Chromium (`apt-get install -y chromium`); never a Playwright-downloaded browser. */
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
];
/** Chromium starts slowly on small CI machines. */
const TIMEOUT_MS = 60_000;

const CREATE_OPERATION = '#operations-conversations-ConversationsController_create';
const TITLE = 'From Swagger UI';

describe('Swagger UI', () => {
  const t = withTestApp({ fake: false });
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  /** Browser-side problems (console errors and warnings, uncaught errors, failed requests). */
  const problems: string[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(
        `Chromium not found at ${CHROMIUM}: install it with \`apt-get update && apt-get install -y chromium\``,
      );
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
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

  it(
    'should create a conversation through "Try it out" and store it',
    async () => {
      if (!context) throw new Error('setup failed');
      const page = await context.newPage();
      watch(page);

      await page.goto(`${t.url}/docs`);
      await page.locator('.swagger-ui .info .title').filter({ hasText: 'Chat backend' }).waitFor();

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

      const stored = await t.prisma.conversation.findMany();
      expect(stored).toHaveLength(1);
      // Only what was typed was sent: the prefilled example (systemPrompt, model, …) was replaced.
      expect(stored[0]).toMatchObject({
        id: created.id,
        title: TITLE,
        systemPrompt: null,
        model: null,
      });
      expect(pageErrors).toEqual([]);

      await page.close();
    },
    TIMEOUT_MS,
  );
});
