import type { Logger } from '@nestjs/common';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';

import type { McpServerConfig } from './mcp-servers-file';
import type { ContentPart } from './tool-output';

export type ServerStatus = 'ready' | 'starting' | 'unavailable';

/** A tool as the server lists it (name, description, JSON Schema of its arguments). */
export interface ListedTool {
  name: string;
  description?: string;
  inputSchema: Record<string, unknown>;
}

/** What a tools/call answered, as far as the service reads it. */
export interface ToolCallAnswer {
  content?: ContentPart[];
  structuredContent?: unknown;
  isError?: boolean;
}

export interface ConnectionOptions {
  /** How long connecting (spawn, initialize, tools/list) may take. */
  connectTimeoutMs: number;
  /** How long each call may take. */
  timeoutMs: number;
  /** First wait before reconnecting after a failure; doubles up to `restartMaxMs`. */
  restartMinMs: number;
  restartMaxMs: number;
  logger: Logger;
  /** After the tool list changed (listed first, or again on tools/list_changed). */
  onTools: () => void;
}

/** The tool could not be called at all: the server is not connected. */
export class ServerUnavailableError extends Error {}

const CLIENT_INFO = { name: 'chat-backend', version: '1' };
const STDERR_TAIL_CHARS = 2000;
/** A connection up this long starts over from restartMinMs when it is lost. */
const STABLE_MS = 30_000;
const MAX_TOOLS = 10_000;

/**
 * One configured MCP server: connects in the background, keeps its tool list, reconnects
 * (restarting a stdio server's process) with backoff whenever the connection is lost or
 * cannot be made, and never throws out of that loop. Calls go to the current client.
 */
export class McpConnection {
  status: ServerStatus = 'starting';
  error?: string;
  tools: ListedTool[] = [];
  private client?: Client;
  private stopped = false;
  private failures = 0;
  private readyAt = 0;
  private timer?: NodeJS.Timeout;
  private connecting?: Promise<void>;
  /** The client being connected, until it is ready or has failed. */
  private pending?: Client;
  private stderrTail = '';

  constructor(
    readonly config: McpServerConfig,
    private readonly options: ConnectionOptions,
  ) {}

  get name(): string {
    return this.config.name;
  }

  start(): void {
    this.connecting = this.connect();
  }

  /** Calls one tool on the connected server; rejects with what went wrong (see ServerTools). */
  async callTool(
    name: string,
    args: Record<string, unknown>,
    signal: AbortSignal,
  ): Promise<ToolCallAnswer> {
    const client = this.client;
    if (!client || this.status !== 'ready')
      throw new ServerUnavailableError(this.error ?? `it is ${this.status}`);
    const timeout = this.options.timeoutMs;
    // The SDK never removes the abort listener it adds: a turn's signal, used for many
    // calls, would collect them and cancel finished calls. Each call gets its own signal.
    const own = new AbortController();
    const forward = (): void => own.abort(signal.reason);
    if (signal.aborted) forward();
    else signal.addEventListener('abort', forward, { once: true });
    try {
      return (await client.callTool({ name, arguments: args }, undefined, {
        signal: own.signal,
        timeout,
        maxTotalTimeout: timeout,
      })) as ToolCallAnswer;
    } catch (error) {
      // A transport failure (HTTP server gone, session lost) means reconnecting; a protocol
      // error, a timeout or a cancel leaves the connection as it is.
      if (!(error instanceof McpError) && !signal.aborted) this.lost(client, describe(error));
      throw error;
    } finally {
      signal.removeEventListener('abort', forward);
    }
  }

  /** Stops for good: a connection still being made is given up (a hung server never holds shutdown). */
  async close(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const clients = [this.client, this.pending];
    this.client = undefined;
    this.status = 'unavailable';
    this.error = 'stopped';
    await Promise.all(clients.map((c) => (c ? this.closeClient(c) : Promise.resolve())));
    await this.connecting;
  }

  /** An HTTP session is ended (DELETE) so that the server can free it; then the client closed. */
  private async closeClient(client: Client): Promise<void> {
    const transport = client.transport;
    if (transport instanceof StreamableHTTPClientTransport && transport.sessionId !== undefined) {
      const ended = transport.terminateSession().catch(() => undefined);
      await Promise.race([ended, new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
    }
    await client.close().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    this.stderrTail = '';
    const client = new Client(CLIENT_INFO, {
      capabilities: {},
      listChanged: {
        tools: { autoRefresh: false, debounceMs: 100, onChanged: () => void this.refresh(client) },
      },
    });
    const gone = this.config.transport === 'stdio' ? 'the process exited' : 'the session closed';
    client.onclose = () => this.lost(client, gone);
    client.onerror = (error) => this.options.logger.debug(`${this.name}: ${describe(error)}`);
    this.pending = client;
    try {
      await client.connect(this.transport(), { timeout: this.options.connectTimeoutMs });
      const tools = await this.listTools(client);
      if (this.stopped) return void (await client.close());
      this.client = client;
      this.tools = tools;
      this.status = 'ready';
      this.error = undefined;
      this.readyAt = Date.now();
      this.options.logger.log(`MCP server ${this.name} ready with ${tools.length} tool(s)`);
      this.options.onTools();
    } catch (error) {
      client.onclose = undefined;
      await client.close().catch(() => undefined);
      this.failed(this.startFailure(error), this.exitReason('; '));
    } finally {
      this.pending = undefined;
    }
  }

  private transport(): Transport {
    const config = this.config;
    if (config.transport === 'http') {
      return new StreamableHTTPClientTransport(new URL(config.url), {
        requestInit: { headers: config.headers },
      });
    }
    const transport = new StdioClientTransport({
      command: config.command,
      args: config.args,
      env: config.env,
      cwd: config.cwd,
      stderr: 'pipe',
    });
    // What a server says before it exits is the best hint at why; kept for health and logs.
    transport.stderr?.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-STDERR_TAIL_CHARS);
    });
    return transport;
  }

  private async listTools(client: Client): Promise<ListedTool[]> {
    const tools: ListedTool[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor === undefined ? {} : { cursor }, {
        timeout: this.options.connectTimeoutMs,
      });
      tools.push(...(page.tools as ListedTool[]));
      cursor = page.nextCursor;
    } while (cursor !== undefined && tools.length < MAX_TOOLS);
    return tools;
  }

  private async refresh(client: Client): Promise<void> {
    try {
      const tools = await this.listTools(client);
      if (client !== this.client) return;
      this.tools = tools;
      this.options.logger.log(`MCP server ${this.name} now lists ${tools.length} tool(s)`);
      this.options.onTools();
    } catch (error) {
      this.options.logger.warn(
        `MCP server ${this.name}: cannot list tools again: ${describe(error)}`,
      );
    }
  }

  /** The connection `client` ended (process exited, session lost): start over. */
  private lost(client: Client, reason: string): void {
    if (client !== this.client || this.stopped) return;
    this.client = undefined;
    this.status = 'starting';
    this.error = `connection lost (${reason}); reconnecting`;
    this.options.logger.warn(`MCP server ${this.name}: ${this.error}${this.exitReason('; ')}`);
    if (Date.now() - this.readyAt >= STABLE_MS) this.failures = 0;
    void client.close().catch(() => undefined);
    this.retryLater();
  }

  /** `reason` is shown by health checks; `detail` (a stderr tail) only goes to the log. */
  private failed(reason: string, detail: string): void {
    if (this.stopped) return;
    this.status = 'unavailable';
    this.error = reason;
    this.options.logger.warn(`MCP server ${this.name} unavailable: ${reason}${detail}`);
    this.retryLater();
  }

  private retryLater(): void {
    const { restartMinMs, restartMaxMs } = this.options;
    const delay = Math.min(restartMaxMs, restartMinMs * 2 ** Math.min(this.failures, 20));
    this.failures++;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.connecting = this.connect();
    }, delay);
    this.timer.unref();
  }

  private startFailure(error: unknown): string {
    const closed =
      error instanceof McpError && error.code === (ErrorCode.ConnectionClosed as number);
    if (!closed) return describe(error);
    return this.config.transport === 'stdio'
      ? 'the process exited before it finished starting (its stderr is in the service log)'
      : 'the server closed the connection while starting';
  }

  /** The last lines a stdio server wrote to stderr, for the log (they may hold anything). */
  private exitReason(prefix: string): string {
    const tail = this.stderrTail.trim();
    return tail ? `${prefix}its stderr ended with: ${tail.split('\n').slice(-3).join(' | ')}` : '';
  }
}

/** What a failed tool call says about the server: it timed out, it closed, or it answered an error. */
export function callFailure(error: unknown): 'timeout' | 'closed' | 'error' | 'other' {
  if (!(error instanceof McpError)) return 'other';
  if (error.code === (ErrorCode.RequestTimeout as number)) return 'timeout';
  if (error.code === (ErrorCode.ConnectionClosed as number)) return 'closed';
  return 'error';
}

export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
