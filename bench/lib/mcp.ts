/**
 * The MCP round trip as a turn makes it: ServerToolsService.call() on the test servers of
 * test/mcp (a stdio process and a Streamable HTTP one, written with the SDK's server API),
 * in this process, with the service's own code from src/. The tool is `echo`, which does
 * no work of its own: each call's time is what MCP adds (argument parsing, the SDK client,
 * the transport both ways, the server SDK's dispatch and schema check, output rendering).
 * The direct baseline: the SDK's own Client, bare, calling the same tool on the same kind
 * of server (its own stdio process; the same HTTP server), so the difference is the service.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Logger } from '@nestjs/common';

import { AppConfig } from '../../src/config/app-config';
import { loadEnv } from '../../src/config/env';
import type { PrismaService } from '../../src/database/prisma.service';
import { MetricsService } from '../../src/metrics/metrics.service';
import { loadMcpServers, ServerToolsService } from '../../src/tools';

const ROOT = path.resolve(__dirname, '..', '..');
const START_TIMEOUT_MS = 60_000;

export type Transport = 'stdio' | 'http';

export interface McpBench {
  tools: ServerToolsService;
  /** Bare SDK clients, one per transport: the direct baseline. */
  direct: Record<Transport, Client>;
  stop(): Promise<void>;
}

const STDIO_ARGS = ['--import', 'tsx', 'test/mcp/stdio-server.ts'];

async function startHttpServer(): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/mcp/http-server.ts', '0'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!/listening (\d+)/.test(out)) {
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error('the MCP HTTP test server did not start');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { child, port: Number(/listening (\d+)/.exec(out)?.[1]) };
}

/** Starts both test servers and a ServerToolsService on them; resolves once both are ready. */
export async function startMcpBench(): Promise<McpBench> {
  const http = await startHttpServer();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-mcp-'));
  const file = path.join(dir, 'servers.json');
  writeFileSync(
    file,
    JSON.stringify({
      mcpServers: {
        stdio: { command: process.execPath, args: STDIO_ARGS, cwd: ROOT },
        http: { url: `http://127.0.0.1:${http.port}/mcp` },
      },
    }),
  );
  Logger.overrideLogger(['error']);
  const variables = { MCP_SERVERS_FILE: file, LOG_LEVEL: 'warn' };
  const config = new AppConfig(loadEnv(variables), '', variables);
  // The real metrics (each call is recorded), without a database pool to watch.
  const pool = { totalCount: 0, idleCount: 0, waitingCount: 0 };
  const metrics = new MetricsService({ pool } as unknown as PrismaService);
  const tools = new ServerToolsService(loadMcpServers(config), config, metrics);
  // Nest's order: the connections are made at init, started at bootstrap.
  await tools.onModuleInit();
  tools.onApplicationBootstrap();
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!tools.health().every((s) => s.status === 'ready')) {
    if (Date.now() > deadline)
      throw new Error(`MCP servers not ready: ${JSON.stringify(tools.health())}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const url = `http://127.0.0.1:${http.port}/mcp`;
  const direct = {
    stdio: await bareClient(
      new StdioClientTransport({ command: process.execPath, args: STDIO_ARGS, cwd: ROOT }),
    ),
    http: await bareClient(new StreamableHTTPClientTransport(new URL(url))),
  };
  return {
    tools,
    direct,
    async stop() {
      await Promise.all([direct.stdio.close(), direct.http.close()]);
      await tools.onApplicationShutdown();
      http.child.kill();
      await once(http.child, 'exit');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function bareClient(
  transport: StdioClientTransport | StreamableHTTPClientTransport,
): Promise<Client> {
  const client = new Client({ name: 'bench', version: '1' });
  await client.connect(transport);
  return client;
}

/** `calls` sequential calls of `echo` through a bare SDK client; each call's time in ms. */
export async function directRoundTrips(client: Client, calls: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < calls; i++) {
    const started = performance.now();
    const result = await client.callTool({ name: 'echo', arguments: { text: `ping ${i}` } });
    samples.push(performance.now() - started);
    if (result.isError) throw new Error(`echo answered ${JSON.stringify(result)}`);
  }
  return samples;
}

/** `calls` sequential calls of `echo` on `server`; each call's time in ms. */
export async function roundTrips(
  tools: ServerToolsService,
  server: string,
  calls: number,
): Promise<number[]> {
  const signal = new AbortController().signal;
  const samples: number[] = [];
  for (let i = 0; i < calls; i++) {
    const started = performance.now();
    const result = await tools.call(`${server}__echo`, `{"text":"ping ${i}"}`, signal);
    samples.push(performance.now() - started);
    if (result.isError || result.output !== `ping ${i}`)
      throw new Error(`echo over ${server} answered ${JSON.stringify(result)}`);
  }
  return samples;
}
