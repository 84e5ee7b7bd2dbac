import { PassThrough } from 'node:stream';

import { MAX_EVENT_CHARS, readSseEvents, SseEvent } from './sse-events';

async function parse(...chunks: (string | Buffer)[]): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  const body = new PassThrough();
  const done = readSseEvents(body, (event) => events.push(event));
  for (const chunk of chunks) body.write(chunk);
  body.end();
  await done;
  return events;
}

describe('readSseEvents: the events', () => {
  it('should join data lines and name events, skipping comments and other fields', async () => {
    expect(
      await parse(': keep-alive\n\ndata: {"a":1}\n\nevent: error\nid: 7\ndata: one\ndata: two\n\n'),
    ).toEqual([
      { event: null, data: '{"a":1}' },
      { event: 'error', data: 'one\ntwo' },
    ]);
  });

  it('should read events split anywhere across chunks, CRLF lines and UTF-8 included', async () => {
    const bytes = Buffer.from('data: héllo\r\n\r\ndata: [DONE]\r\n\r\n');
    const chunks = [...bytes].map((byte) => Buffer.from([byte]));
    expect(await parse(...chunks)).toEqual([
      { event: null, data: 'héllo' },
      { event: null, data: '[DONE]' },
    ]);
  });

  it('should end the last event at the end of the body, blank line or not', async () => {
    expect(await parse('data: last')).toEqual([{ event: null, data: 'last' }]);
    expect(await parse('data:no space\n')).toEqual([{ event: null, data: 'no space' }]);
    expect(await parse('data: once\n\n')).toEqual([{ event: null, data: 'once' }]);
  });

  it('should refuse a line that never ends past MAX_EVENT_CHARS, and end the body', async () => {
    const body = new PassThrough();
    const done = readSseEvents(body, () => undefined);
    const piece = 'x'.repeat(1024 * 1024);
    body.write('data: ');
    for (let sent = 0; sent <= MAX_EVENT_CHARS && !body.destroyed; sent += piece.length)
      body.write(piece);
    await expect(done).rejects.toThrow(`over ${MAX_EVENT_CHARS} characters`);
    expect(body.destroyed).toBe(true);
  });
});

describe('readSseEvents', () => {
  it('should deliver each event as its chunk arrives and resolve at the end', async () => {
    const body = new PassThrough();
    const seen: string[] = [];
    const done = readSseEvents(body, ({ data }) => seen.push(data));
    body.write('data: 1\n\n');
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toEqual(['1']);
    body.end('data: 2\n\n');
    await done;
    expect(seen).toEqual(['1', '2']);
  });

  it('should reject with what the handler threw, and end the body', async () => {
    const body = new PassThrough();
    const done = readSseEvents(body, () => {
      throw new Error('bad event');
    });
    body.write('data: x\n\n');
    await expect(done).rejects.toThrow('bad event');
    expect(body.destroyed).toBe(true);
  });

  it('should reject when the body fails or closes before its end', async () => {
    const failing = new PassThrough();
    const failed = readSseEvents(failing, () => undefined);
    failing.destroy(new Error('socket hang up'));
    await expect(failed).rejects.toThrow('socket hang up');

    const cut = new PassThrough();
    const closed = readSseEvents(cut, () => undefined);
    cut.write('data: partial');
    cut.destroy();
    await expect(closed).rejects.toThrow('closed before its end');
  });
});
