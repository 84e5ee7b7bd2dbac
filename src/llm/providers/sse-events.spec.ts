import { PassThrough } from 'node:stream';

import { readSseEvents, SseEvent, SseParser } from './sse-events';

function parse(...chunks: (string | Buffer)[]): SseEvent[] {
  const events: SseEvent[] = [];
  const parser = new SseParser((event) => events.push(event));
  for (const chunk of chunks) parser.write(chunk);
  parser.end();
  return events;
}

describe('SseParser', () => {
  it('should join data lines and name events, skipping comments and other fields', () => {
    expect(
      parse(': keep-alive\n\ndata: {"a":1}\n\nevent: error\nid: 7\ndata: one\ndata: two\n\n'),
    ).toEqual([
      { event: null, data: '{"a":1}' },
      { event: 'error', data: 'one\ntwo' },
    ]);
  });

  it('should read events split anywhere across chunks, CRLF lines and UTF-8 included', () => {
    const bytes = Buffer.from('data: héllo\r\n\r\ndata: [DONE]\r\n\r\n');
    const chunks = [...bytes].map((byte) => Buffer.from([byte]));
    expect(parse(...chunks)).toEqual([
      { event: null, data: 'héllo' },
      { event: null, data: '[DONE]' },
    ]);
  });

  it('should end the last event at the end of the body, blank line or not', () => {
    expect(parse('data: last')).toEqual([{ event: null, data: 'last' }]);
    expect(parse('data:no space\n')).toEqual([{ event: null, data: 'no space' }]);
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
