import { AppClient, CONVERSATIONS, withTestApp } from './utils/harness';

/** The mistakes a newcomer makes in LMSTUDIO_* and what the service says about them. */
describe('Local provider misconfigured', () => {
  const t = withTestApp({ fake: { models: ['fake-model', 'other-model'] } });

  async function lmstudioDefault(app: AppClient): Promise<{ available: boolean; reason: string }> {
    const res = await app.http.get('/api/v1/models').expect(200);
    return res.body.data.find((m: { alias: string }) => m.alias === 'lmstudio/default');
  }

  async function send(app: AppClient): Promise<{ status: number; body: Record<string, string> }> {
    const id = await app.createConversation();
    return app.http.post(`${CONVERSATIONS}/${id}/messages`).send({ message: 'hi' });
  }

  describe.each([
    ['with LMSTUDIO_MODEL unset', {}],
    ['with LMSTUDIO_MODEL set', { LMSTUDIO_MODEL: 'fake-model' }],
  ])('LMSTUDIO_BASE_URL without /v1, %s', (_name, env: Record<string, string>) => {
    it('should say the URL probably lacks /v1, in /models and in the turn', async () => {
      const app = await t.startApp({ env: { LMSTUDIO_BASE_URL: t.fake.url, ...env } });
      const model = await lmstudioDefault(app);
      expect(model.available).toBe(false);
      expect(model.reason).toContain(`LMSTUDIO_BASE_URL probably lacks /v1: try ${t.fake.url}/v1`);

      const res = await send(app);
      expect(res.status).toBe(503);
      expect(res.body.error).toBe('provider_unavailable');
      expect(res.body.message).toContain('probably lacks /v1');
      expect(res.body.message).not.toContain('upstream model');
      await app.close();
    });
  });

  describe('LMSTUDIO_MODEL naming a model the server does not list', () => {
    it('should report it unavailable in /models, with the models the server has', async () => {
      const app = await t.startApp({ env: { LMSTUDIO_MODEL: 'missing-model' } });
      const model = await lmstudioDefault(app);
      expect(model).toMatchObject({ available: false });
      expect(model.reason).toContain('"missing-model"');
      expect(model.reason).toContain('fake-model, other-model');
      await app.close();
    });

    it('should fail the turn with provider_model_not_found naming the listed models, calling nothing', async () => {
      const app = await t.startApp({ env: { LMSTUDIO_MODEL: 'missing-model' } });
      const res = await send(app);
      expect(res.status).toBe(502);
      expect(res.body.error).toBe('provider_model_not_found');
      expect(res.body.message).toContain('"missing-model"');
      expect(res.body.message).toContain('fake-model, other-model');
      expect(res.body.message).toContain('LMSTUDIO_MODEL');
      expect(t.fake.requests).toHaveLength(0);
      await app.close();
    });

    it('should keep working once the model is one the server lists', async () => {
      const app = await t.startApp({ env: { LMSTUDIO_MODEL: 'other-model' } });
      expect(await lmstudioDefault(app)).toMatchObject({ available: true, reason: null });
      await app.send(await app.createConversation(), 'hi');
      await app.close();
    });
  });
});
