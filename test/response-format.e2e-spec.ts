import { CONVERSATIONS as BASE, withTestApp } from './utils/harness';
import { TestSocket } from './utils/ws-client';

const CITY = {
  type: 'json_schema',
  json_schema: {
    name: 'city',
    strict: true,
    schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

describe('Reply formats on turns (jsonMode, responseFormat)', () => {
  const t = withTestApp({ env: { LMSTUDIO_MODEL: 'fake-model' } });
  const lastBody = (): Record<string, unknown> => t.fake.requests.at(-1)!.body;

  it('should pass jsonMode as response_format json_object, whole and streamed', async () => {
    const id = await t.createConversation();
    await t.http
      .post(`${BASE}/${id}/messages`)
      .send({ message: 'a JSON city', params: { jsonMode: true, temperature: 0.2 } })
      .expect(201);
    expect(lastBody()).toMatchObject({
      response_format: { type: 'json_object' },
      temperature: 0.2,
    });

    const stream = await t.stream(id, 'another', { params: { responseFormat: CITY } });
    expect(stream.status).toBe(200);
    expect(lastBody().response_format).toEqual(CITY);
  });

  it('should send no response_format for text, or when none is asked', async () => {
    const id = await t.createConversation();
    await t.send(id, 'plain');
    expect(lastBody()).not.toHaveProperty('response_format');
    await t.http
      .post(`${BASE}/${id}/messages`)
      .send({ message: 'text', params: { jsonMode: true, responseFormat: { type: 'text' } } })
      .expect(201);
    expect(lastBody()).not.toHaveProperty('response_format');
  });

  it('should pass it on a regenerate and an edit', async () => {
    const id = await t.createConversation();
    const sent = await t.send(id, 'first');
    const { userMessage, assistantMessage } = sent.body as Record<string, { id: string }>;
    await t.http
      .post(`${BASE}/${id}/messages/${assistantMessage.id}/regenerate`)
      .send({ params: { responseFormat: CITY } })
      .expect(201);
    expect(lastBody().response_format).toEqual(CITY);
    await t.http
      .post(`${BASE}/${id}/messages/${userMessage.id}/edit`)
      .send({ message: 'edited', params: { jsonMode: true } })
      .expect(201);
    expect(lastBody().response_format).toEqual({ type: 'json_object' });
  });

  it('should pass it from a WebSocket send', async () => {
    const id = await t.createConversation();
    const socket = await TestSocket.open(t.url);
    try {
      socket.send({
        type: 'message.send',
        conversationId: id,
        message: 'over the socket',
        params: { jsonMode: true },
      });
      await socket.turnEnd(id);
      expect(lastBody().response_format).toEqual({ type: 'json_object' });
    } finally {
      socket.ws.terminate();
    }
  });

  it.each([
    ['an unknown type', { responseFormat: { type: 'xml' } }],
    ['json_schema without its schema', { responseFormat: { type: 'json_schema' } }],
    ['a schema with json_object', { responseFormat: { ...CITY, type: 'json_object' } }],
    [
      'a schema that is not an object',
      { responseFormat: { ...CITY, json_schema: { name: 'x', schema: 3 } } },
    ],
    [
      'a bad schema name',
      { responseFormat: { ...CITY, json_schema: { ...CITY.json_schema, name: 'a b' } } },
    ],
    ['jsonMode not a boolean', { jsonMode: 'yes' }],
    ['an unknown field', { responseFormat: { type: 'json_object', extra: 1 } }],
  ])('should refuse %s with 400 validation_failed, calling no provider', async (_, params) => {
    const id = await t.createConversation();
    const res = await t.http.post(`${BASE}/${id}/messages`).send({ message: 'x', params });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: 'validation_failed' });
    expect(t.fake.requests).toHaveLength(0);
  });
});
