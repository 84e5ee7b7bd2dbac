import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { randomBytes } from 'node:crypto';

import Groq from 'groq-sdk';
import OpenAI from 'openai';

import { InlineData, sdkCallOptions } from './inline-data';
import { keepAliveFetch } from './keep-alive-fetch';

/** A local server: /v1/chat/completions answers, /old/v1/... redirects there, /slow hangs mid-body. */
function startServer(): Promise<{ url: string; bodies: string[]; close(): Promise<void> }> {
  const bodies: string[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      if (req.url?.startsWith('/old/')) {
        res.writeHead(307, { location: req.url.slice('/old'.length) }).end();
        return;
      }
      bodies.push(body);
      if (req.url === '/slow') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"partial":');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'x-request-id': 'req_1' });
      res.end(
        JSON.stringify({
          id: 'c1',
          object: 'chat.completion',
          created: 0,
          model: 'm',
          choices: [
            { index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' },
          ],
        }),
      );
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        bodies,
        close: () => {
          server.closeAllConnections();
          return new Promise((done) => server.close(() => done()));
        },
      });
    }),
  );
}

describe('keepAliveFetch', () => {
  let upstream: Awaited<ReturnType<typeof startServer>>;
  beforeAll(async () => (upstream = await startServer()));
  afterAll(() => upstream.close());

  const client = (baseURL: string) =>
    new OpenAI({ apiKey: 'k', baseURL, maxRetries: 0, fetch: keepAliveFetch });
  const ask = { model: 'm', messages: [{ role: 'user' as const, content: 'hello' }] };

  it('carries an SDK call: the body sent, the reply and its request id read', async () => {
    const completion = await client(`${upstream.url}/v1`).chat.completions.create(ask);
    expect(completion.choices[0].message.content).toBe('hi');
    expect(completion._request_id).toBe('req_1');
    expect(JSON.parse(upstream.bodies.at(-1) ?? '')).toMatchObject(ask);
  });

  it('follows a redirecting base URL, the body sent again', async () => {
    const before = upstream.bodies.length;
    const completion = await client(`${upstream.url}/old/v1`).chat.completions.create(ask);
    expect(completion.choices[0].message.content).toBe('hi');
    expect(upstream.bodies.slice(before).map((b) => JSON.parse(b) as unknown)).toEqual([
      expect.objectContaining(ask),
    ]);
  });

  it('sends an image held as inline data exactly, through both SDKs and a redirect', async () => {
    const image = randomBytes(300_000);
    const expected = `data:image/png;base64,${image.toString('base64')}`;
    const call = async (send: (body: object, options: object) => Promise<unknown>) => {
      const inline = new InlineData();
      const url = `data:image/png;base64,${inline.standIn(image)}`;
      const content = [{ type: 'image_url', image_url: { url } }];
      const body = { model: 'm', messages: [{ role: 'user', content }] };
      await send(body, sdkCallOptions(new AbortController().signal, inline));
      const sent = JSON.parse(upstream.bodies.at(-1) ?? '') as typeof body;
      return sent.messages[0].content[0].image_url.url;
    };
    const groq = new Groq({
      apiKey: 'k',
      baseURL: upstream.url,
      maxRetries: 0,
      fetch: keepAliveFetch,
    });
    const create =
      (sdk: { chat: { completions: { create: unknown } } }) => (b: object, o: object) =>
        (sdk.chat.completions.create as (b: object, o: object) => Promise<unknown>)(b, o);
    expect(await call(create(client(`${upstream.url}/v1`)))).toBe(expected);
    expect(await call(create(client(`${upstream.url}/old/v1`)))).toBe(expected);
    expect(await call(create(groq))).toBe(expected);
  });

  it('stops reading a body when aborted, with an AbortError', async () => {
    const abort = new AbortController();
    const response = await keepAliveFetch(`${upstream.url}/slow`, {
      method: 'POST',
      body: '{}',
      signal: abort.signal,
    });
    const reading = response.text();
    abort.abort();
    await expect(reading).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('reuses a connection, but retires it before the server closes it (its Keep-Alive hint)', async () => {
    const server = http.createServer((req, res) => req.resume().on('end', () => res.end('{}')));
    server.keepAliveTimeout = 2_000; // announced as `Keep-Alive: timeout=2`
    let connections = 0;
    server.on('connection', () => connections++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const call = async () => (await keepAliveFetch(url, { method: 'POST', body: '{}' })).text();
    try {
      await call();
      await call();
      expect(connections).toBe(1);
      // Past the hint less a second, still before the server's own close: a new connection.
      await new Promise((resolve) => setTimeout(resolve, 1_300));
      await call();
      expect(connections).toBe(2);
    } finally {
      server.closeAllConnections();
      await new Promise((done) => server.close(done));
    }
  });

  it('refuses to start when already aborted', async () => {
    await expect(
      keepAliveFetch(`${upstream.url}/v1/chat/completions`, { signal: AbortSignal.abort() }),
    ).rejects.toMatchObject({ name: 'AbortError' });
  });
});
