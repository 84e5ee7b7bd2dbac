import { CONVERSATIONS, withTestApp } from './utils/harness';
import { TestSocket } from './utils/ws-client';

interface ErrorBody {
  error: string;
  message: string;
  details?: { field: string; errors: string[] }[];
}

/** Each field's messages, and the summary: every problem named once. */
function expectEachOnce(body: ErrorBody): void {
  for (const { errors } of body.details ?? []) expect(errors).toEqual([...new Set(errors)]);
  const parts = body.message.replace(/^Invalid request: /, '').split(/; |, /);
  expect(parts).toEqual([...new Set(parts)]);
}

describe('Validation messages', () => {
  const t = withTestApp({});
  let id: string;
  let socket: TestSocket;

  beforeAll(async () => {
    id = await t.createConversation();
    socket = await TestSocket.open(t.url);
  });
  afterAll(() => socket?.ws.close());

  it('should say over HTTP that a missing message is required', async () => {
    const res = await t.http.post(`${CONVERSATIONS}/${id}/messages`).send({}).expect(400);
    expect(res.body).toMatchObject({
      error: 'validation_failed',
      message: 'Invalid request: message: message is required',
      details: [{ field: 'message', errors: ['message is required'] }],
    });
  });

  it('should give one rule for ?limit=abc', async () => {
    const res = await t.http.get(`${CONVERSATIONS}?limit=abc`).expect(400);
    expect(res.body).toMatchObject({
      error: 'validation_failed',
      details: [{ field: 'limit', errors: ['limit must be an integer number'] }],
    });
    expectEachOnce(res.body as ErrorBody);
  });

  it('should call a null body not an object rather than invalid JSON', async () => {
    const res = await t.http
      .post(`${CONVERSATIONS}/${id}/messages`)
      .set('Content-Type', 'application/json')
      .send('null')
      .expect(400);
    expect(res.body).toMatchObject({
      error: 'invalid_body',
      message: 'The request body must be a JSON object',
    });
  });

  it('should take a resume lastEventId as a number or a numeric string, over the WebSocket', async () => {
    // No turn runs: a resume that passes validation is answered no_active_generation.
    for (const [requestId, lastEventId] of [
      ['number', 3000012],
      ['string', '3000012'],
    ] as const) {
      socket.send({ type: 'resume', conversationId: id, lastEventId, requestId });
      const answer = await socket.waitFor((m) => m.requestId === requestId);
      expect([requestId, answer.data.code]).toEqual([requestId, 'no_active_generation']);
    }
  });

  it('should name each problem of a WebSocket message once', async () => {
    socket.send({ type: 'resume', conversationId: id, lastEventId: 'soon', requestId: 'bad' });
    const bad = await socket.waitFor((m) => m.requestId === 'bad');
    expect(bad.data).toMatchObject({
      code: 'validation_failed',
      message: 'Invalid request: lastEventId: lastEventId must be an event id (a whole number)',
      details: [
        { field: 'lastEventId', errors: ['lastEventId must be an event id (a whole number)'] },
      ],
    });

    socket.send({ type: 'message.send', conversationId: id, requestId: 'empty' });
    const empty = await socket.waitFor((m) => m.requestId === 'empty');
    expect(empty.data).toMatchObject({
      code: 'validation_failed',
      details: [{ field: 'message', errors: ['message is required'] }],
    });
  });
});
