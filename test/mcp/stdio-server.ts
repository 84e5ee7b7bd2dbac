/**
 * A real MCP server over stdio (the SDK's server API) for the tests and the bench:
 *   node --import tsx test/mcp/stdio-server.ts [--crash-on-start] [--hang-on-start]
 * --crash-on-start: writes a reason to stderr and exits 1 before speaking MCP;
 * --hang-on-start: never answers `initialize`. Tools: see test-tools.ts.
 */
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';

import { createTestServer } from './test-tools';

async function main(): Promise<void> {
  if (process.argv.includes('--crash-on-start')) {
    process.stderr.write('cannot start: TEST_SECRET_CONFIG is missing\n');
    process.exit(1);
  }
  if (process.argv.includes('--hang-on-start')) {
    setInterval(() => undefined, 60_000);
    return;
  }
  await createTestServer('test-stdio').connect(new StdioServerTransport());
}

void main();
