/**
 * The tools every test MCP server serves, written with the SDK's server API:
 *   echo {text}        the text back
 *   add {a, b}         their sum
 *   image {}           a PNG image part and a text part
 *   big {bytes, char?} `bytes` bytes of `char` (default "x"; "é" is two bytes)
 *   fail {}            an `isError` result
 *   slow {ms}          answers after `ms` milliseconds (stops early when cancelled)
 *   hang {}            never answers, and ignores cancels
 *   crash {}           the process exits (code 3) without answering
 *   pid {}             the server process's id (tells a restarted process from the first)
 *   grow {}            registers tool `grown` (the client gets tools/list_changed)
 */
import { setTimeout as sleep } from 'node:timers/promises';

import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';

/** A 1×1 transparent PNG. */
const PNG =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';

const text = (value: string) => ({ content: [{ type: 'text' as const, text: value }] });

export function createTestServer(name: string): McpServer {
  const server = new McpServer({ name, version: '1.0.0' });
  server.registerTool(
    'echo',
    { description: 'Echoes the text back', inputSchema: { text: z.string() } },
    ({ text: value }) => text(value),
  );
  server.registerTool(
    'add',
    { description: 'Adds two numbers', inputSchema: { a: z.number(), b: z.number() } },
    ({ a, b }) => text(String(a + b)),
  );
  server.registerTool('image', { description: 'A tiny picture' }, () => ({
    content: [
      { type: 'image' as const, data: PNG, mimeType: 'image/png' },
      { type: 'text' as const, text: 'a 1x1 pixel' },
    ],
  }));
  server.registerTool(
    'big',
    {
      description: 'A long output',
      inputSchema: { bytes: z.number().int().min(0), char: z.string().optional() },
    },
    ({ bytes, char }) => {
      const unit = char ?? 'x';
      return text(unit.repeat(Math.ceil(bytes / Buffer.byteLength(unit))));
    },
  );
  server.registerTool('fail', { description: 'Always fails' }, () => ({
    content: [{ type: 'text' as const, text: 'the tool failed on purpose' }],
    isError: true,
  }));
  server.registerTool(
    'slow',
    { description: 'Answers after ms milliseconds', inputSchema: { ms: z.number().int().min(0) } },
    async ({ ms }, extra) => {
      await sleep(ms, undefined, { signal: extra.signal }).catch(() => undefined);
      return text(`slept ${ms} ms`);
    },
  );
  server.registerTool('hang', { description: 'Never answers' }, () => new Promise<never>(() => {}));
  server.registerTool('crash', { description: 'Exits the server process' }, () => {
    process.stderr.write('crash tool called: exiting\n');
    process.exit(3);
  });
  server.registerTool('pid', { description: 'The server process id' }, () =>
    text(String(process.pid)),
  );
  server.registerTool('grow', { description: 'Adds tool grown' }, () => {
    server.registerTool('grown', { description: 'Added while running' }, () => text('grown'));
    return text('added grown');
  });
  return server;
}
