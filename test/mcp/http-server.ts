/**
 * A real MCP server over Streamable HTTP (the SDK's server API, stateful sessions) for the
 * tests and the bench:
 *   node --import tsx test/mcp/http-server.ts [port]    (0 or none: any free port)
 * Prints `listening <port>` on stdout once it accepts connections. With MCP_TEST_TOKEN set,
 * a request without `Authorization: Bearer <token>` gets 401; with MCP_TEST_JSON=1 it answers
 * calls with JSON bodies instead of SSE streams. GET /sessions: `{"open": n}`, the MCP
 * sessions not yet ended. Tools: see test-tools.ts.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';

import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';

import { createTestServer } from './test-tools';

const sessions = new Map<string, StreamableHTTPServerTransport>();

async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const token = process.env.MCP_TEST_TOKEN;
  if (token && req.headers.authorization !== `Bearer ${token}`) {
    res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"unauthorized"}');
    return;
  }
  if (req.url === '/sessions') return void res.end(JSON.stringify({ open: sessions.size }));
  if (!req.url?.startsWith('/mcp')) return void res.writeHead(404).end();
  const id = req.headers['mcp-session-id'];
  let transport = typeof id === 'string' ? sessions.get(id) : undefined;
  if (!transport) {
    if (typeof id === 'string') return void res.writeHead(404).end('unknown session');
    const created = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      enableJsonResponse: process.env.MCP_TEST_JSON === '1',
      onsessioninitialized: (sessionId) => void sessions.set(sessionId, created),
    });
    created.onclose = () => {
      if (created.sessionId) sessions.delete(created.sessionId);
    };
    await createTestServer('test-http').connect(created);
    transport = created;
  }
  await transport.handleRequest(req, res);
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((error: unknown) => {
    process.stderr.write(`request failed: ${String(error)}\n`);
    if (!res.headersSent) res.writeHead(500).end();
  });
});
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : ''}\n`);
});
