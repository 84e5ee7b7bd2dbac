import { Browser, Request } from 'playwright-core';

import { launchChromium } from './utils/chromium';
import { withTestApp } from './utils/harness';

const TIMEOUT_MS = 90_000;
const CREATE_OPERATION = '#operations-conversations-createConversation';

describe('Swagger UI with built-in users', () => {
  const t = withTestApp({
    env: {
      LMSTUDIO_MODEL: 'fake-model',
      AUTH_MODE: 'local',
      LOCAL_JWT_SECRET: 'local-secret-that-is-long-enough-0123456789',
    },
  });
  let browser: Browser | undefined;

  beforeAll(async () => {
    browser = await launchChromium();
  }, TIMEOUT_MS);

  afterAll(() => browser?.close(), TIMEOUT_MS);

  it(
    'should sign in through Authorize (OAuth2 password) and act as that user in "Try it out"',
    async () => {
      const password = 'correct horse battery staple';
      const registered = await t.http
        .post('/api/v1/auth/register')
        .send({ username: 'swagger-user', password })
        .expect(201);
      const page = await browser!.newPage();
      const tokenRequests: Request[] = [];
      page.on('request', (req) => {
        if (req.url().endsWith('/api/v1/auth/token')) tokenRequests.push(req);
      });
      await page.goto(`${t.url}/docs`);
      await page.locator('.swagger-ui .info .title').filter({ hasText: 'Chat backend' }).waitFor();

      await page.locator('.auth-wrapper .authorize').click();
      const local = page
        .locator('.modal-ux .auth-container')
        .filter({ hasText: 'local (OAuth2, password)' });
      await local.locator('#oauth_username').fill('swagger-user');
      await local.locator('#oauth_password').fill(password);
      await local.locator('button.authorize').click();
      await local.locator('h6', { hasText: 'Authorized' }).waitFor();
      await page.locator('.modal-ux .close-modal').click();
      expect(tokenRequests).toHaveLength(1);
      expect(tokenRequests[0].headers()['content-type']).toContain(
        'application/x-www-form-urlencoded',
      );
      // The empty client credentials it sends along are ignored.
      expect(tokenRequests[0].postData()).toContain('grant_type=password');

      const operation = page.locator(CREATE_OPERATION);
      await operation.locator('.opblock-summary').first().click();
      await operation.locator('.try-out__btn').click();
      await operation.locator('textarea.body-param__text').fill('{"title":"Authorized"}');
      await operation.locator('.execute').click();
      const response = operation.locator('.responses-wrapper .live-responses-table .response');
      const status = await response.locator('.response-col_status').first().textContent();
      expect(status?.trim()).toMatch(/^201\b/);

      const stored = await t.prisma.conversation.findFirstOrThrow({
        where: { title: 'Authorized' },
      });
      expect(stored.ownerId).toBe((registered.body as { id: string }).id);
      await page.close();
    },
    TIMEOUT_MS,
  );
});
