import { FakeLlmServer } from './fake-llm/fake-llm-server';
import { createTestDatabase, TestDatabase } from './utils/database';
import { startTestApp, TestApp } from './utils/test-app';

const BASE = '/api/v1/conversations';

/** The mistakes a newcomer makes in LMSTUDIO_* and what the service says about them. */
describe('Local provider misconfigured', () => {
  let db: TestDatabase;
  let fake: FakeLlmServer;
  let t: TestApp | undefined;

  beforeAll(async () => {
    db = await createTestDatabase();
    fake = new FakeLlmServer({ models: ['fake-model', 'other-model'] });
    await fake.start();
  });

  afterEach(async () => {
    await t?.close();
    t = undefined;
    fake.reset();
  });

  afterAll(async () => {
    await fake?.stop();
    await db?.drop();
  });

  async function lmstudioDefault(app: TestApp): Promise<{ available: boolean; reason: string }> {
    const res = await app.http.get('/api/v1/models').expect(200);
    return res.body.data.find((m: { alias: string }) => m.alias === 'lmstudio/default');
  }

  async function send(app: TestApp): Promise<{ status: number; body: Record<string, string> }> {
    const id = (await app.http.post(BASE).expect(201)).body.id as string;
    return app.http.post(`${BASE}/${id}/messages`).send({ message: 'hi' });
  }

  describe.each([
    ['with LMSTUDIO_MODEL unset', {}],
    ['with LMSTUDIO_MODEL set', { LMSTUDIO_MODEL: 'fake-model' }],
  ])('LMSTUDIO_BASE_URL without /v1, %s', (_name, env: Record<string, string>) => {
    it('should say the URL probably lacks /v1, in /models and in the turn', async () => {
      t = await startTestApp(db.url, { LMSTUDIO_BASE_URL: fake.url, ...env });
      const model = await lmstudioDefault(t);
      expect(model.available).toBe(false);
      expect(model.reason).toContain(`LMSTUDIO_BASE_URL probably lacks /v1: try ${fake.url}/v1`);

      const res = await send(t);
      expect(res.status).toBe(503);
      expect(res.body.error).toBe('provider_unavailable');
      expect(res.body.message).toContain('probably lacks /v1');
      expect(res.body.message).not.toContain('upstream model');
    });
  });

  describe('LMSTUDIO_MODEL naming a model the server does not list', () => {
    it('should report it unavailable in /models, with the models the server has', async () => {
      t = await startTestApp(db.url, {
        LMSTUDIO_BASE_URL: fake.openAiBaseUrl,
        LMSTUDIO_MODEL: 'missing-model',
      });
      const model = await lmstudioDefault(t);
      expect(model).toMatchObject({ available: false });
      expect(model.reason).toContain('"missing-model"');
      expect(model.reason).toContain('fake-model, other-model');
    });

    it('should fail the turn with provider_model_not_found naming the listed models', async () => {
      t = await startTestApp(db.url, {
        LMSTUDIO_BASE_URL: fake.openAiBaseUrl,
        LMSTUDIO_MODEL: 'missing-model',
      });
      const res = await send(t);
      expect(res.status).toBe(502);
      expect(res.body.error).toBe('provider_model_not_found');
      expect(res.body.message).toContain('"missing-model"');
      expect(res.body.message).toContain('fake-model, other-model');
      expect(res.body.message).toContain('LMSTUDIO_MODEL');
    });

    it('should keep working once the model is one the server lists', async () => {
      t = await startTestApp(db.url, {
        LMSTUDIO_BASE_URL: fake.openAiBaseUrl,
        LMSTUDIO_MODEL: 'other-model',
      });
      expect(await lmstudioDefault(t)).toMatchObject({ available: true, reason: null });
      expect((await send(t)).status).toBe(201);
    });
  });
});
