import { CONVERSATIONS, withTestApp } from './utils/harness';

describe('Request bodies that are not JSON', () => {
  const t = withTestApp({ fake: false });

  it.each([
    ['text/plain', '{"message":"hi"}'],
    // What `curl -d '{"message":"hi"}'` sends without -H 'Content-Type: application/json'.
    ['application/x-www-form-urlencoded', '{"message":"hi"}'],
    ['application/xml', '<message>hi</message>'],
  ])(
    'should answer 415 unsupported_media_type naming application/json for %s',
    async (type, body) => {
      const id = await t.createConversation();
      for (const [method, path] of [
        ['post', `${CONVERSATIONS}/${id}/messages`],
        ['post', `${CONVERSATIONS}/${id}/messages/stream`],
        ['post', CONVERSATIONS],
        ['patch', `${CONVERSATIONS}/${id}`],
      ] as const) {
        const res = await t.http[method](path).set('Content-Type', type).send(body);
        expect({ path, status: res.status }).toEqual({ path, status: 415 });
        expect(res.body).toMatchObject({ statusCode: 415, error: 'unsupported_media_type' });
        expect(res.body.message).toContain('Content-Type: application/json');
        expect(res.body.message).toContain(type);
      }
      expect(await t.storedMessages(id)).toEqual([]);
    },
  );

  it('should still take JSON with a charset, and requests without a body', async () => {
    const id = await t.createConversation();
    await t.http
      .patch(`${CONVERSATIONS}/${id}`)
      .set('Content-Type', 'application/json; charset=utf-8')
      .send('{"title":"ok"}')
      .expect(200);
    await t.http.post(CONVERSATIONS).expect(201);
    await t.http.post(`${CONVERSATIONS}/${id}/cancel`).expect(404);
  });
});
