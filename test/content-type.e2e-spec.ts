import { createTestDatabase, TestDatabase } from './utils/database';
import { startTestApp, TestApp } from './utils/test-app';

const BASE = '/api/v1/conversations';

describe('Request bodies that are not JSON', () => {
  let db: TestDatabase;
  let t: TestApp;
  let id: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    t = await startTestApp(db.url);
    id = (await t.http.post(BASE).expect(201)).body.id as string;
  });

  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  it.each([
    ['text/plain', '{"message":"hi"}'],
    // What `curl -d '{"message":"hi"}'` sends without -H 'Content-Type: application/json'.
    ['application/x-www-form-urlencoded', '{"message":"hi"}'],
    ['application/xml', '<message>hi</message>'],
  ])(
    'should answer 415 unsupported_media_type naming application/json for %s',
    async (type, body) => {
      for (const [method, path] of [
        ['post', `${BASE}/${id}/messages`],
        ['post', `${BASE}/${id}/messages/stream`],
        ['post', BASE],
        ['patch', `${BASE}/${id}`],
      ] as const) {
        const res = await t.http[method](path).set('Content-Type', type).send(body);
        expect({ path, status: res.status }).toEqual({ path, status: 415 });
        expect(res.body).toMatchObject({ statusCode: 415, error: 'unsupported_media_type' });
        expect(res.body.message).toContain('Content-Type: application/json');
        expect(res.body.message).toContain(type);
      }
      expect(await t.prisma.message.count()).toBe(0);
    },
  );

  it('should still take JSON with a charset, and requests without a body', async () => {
    await t.http
      .patch(`${BASE}/${id}`)
      .set('Content-Type', 'application/json; charset=utf-8')
      .send('{"title":"ok"}')
      .expect(200);
    await t.http.post(BASE).expect(201);
    await t.http.post(`${BASE}/${id}/cancel`).expect(404);
  });
});
