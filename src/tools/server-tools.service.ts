import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
  OnModuleInit,
} from '@nestjs/common';

import { AppException } from '../common/errors/app.exception';
import { AppConfig } from '../config/app-config';
import type { ToolDefinition } from '../llm/llm.types';
import { MetricsService } from '../metrics/metrics.service';
import type { McpConnection } from './mcp-connection';
import type { McpServerConfig } from './mcp-servers-file';
import { modelToolName, serverOfModelName } from './tool-names';
import { capOutput, renderToolContent } from './tool-output';
import {
  ServerHealth,
  ServerToolResult,
  ServerToolSet,
  ToolOutcome,
  UnavailableServer,
} from './tools.types';

/** The servers of MCP_SERVERS_FILE, read and checked at start-up (loadMcpServers). */
export const MCP_SERVERS = Symbol('MCP_SERVERS');

/** A stdio server may be fetched first (`npx -y …`): starting gets more time than a call. */
const CONNECT_TIMEOUT_MS = 60_000;
const RESTART_MIN_MS = 500;
const RESTART_MAX_MS = 30_000;
const PATTERN = /^([^/]+)\/(.+)$/;
const TOOL_PART = /^(\*|[^\s*]{1,128})$/;

interface Target {
  server: string;
  tool: string;
}

/**
 * Server tools over MCP: one connection per configured server (stdio or Streamable HTTP,
 * the official SDK's client), started in the background once the app is up and kept up
 * (crashed servers restarted with backoff), closed at shutdown after running turns have
 * drained. Turns resolve their `serverTools` patterns here and call the tools the model
 * asks for; every failure comes back as an error result the model can read.
 */
@Injectable()
export class ServerToolsService
  implements OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown
{
  private readonly logger = new Logger(ServerToolsService.name);
  private readonly connections = new Map<string, McpConnection>();
  /** The MCP client (./mcp-connection), loaded only when servers are configured. */
  private mcp!: typeof import('./mcp-connection.js');
  /** Model-facing name → server and tool, over every ready server's tools. */
  private targets = new Map<string, Target>();
  private readonly timeoutMs: number;
  private readonly maxOutputBytes: number;

  constructor(
    @Inject(MCP_SERVERS) private readonly configured: McpServerConfig[],
    config: AppConfig,
    private readonly metrics: MetricsService,
  ) {
    this.timeoutMs = config.get('TOOL_TIMEOUT_MS');
    this.maxOutputBytes = config.get('TOOL_OUTPUT_MAX_BYTES');
    metrics.watchToolServers(() =>
      [...this.connections.values()].map((c) => ({ server: c.name, ready: c.status === 'ready' })),
    );
  }

  /** The MCP SDK holds ~25 MB of memory: a service without tool servers never loads it. */
  async onModuleInit(): Promise<void> {
    if (this.configured.length === 0) return;
    this.mcp = await import('./mcp-connection.js');
    for (const server of this.configured) {
      const connection = new this.mcp.McpConnection(server, {
        connectTimeoutMs: Math.max(CONNECT_TIMEOUT_MS, this.timeoutMs),
        timeoutMs: this.timeoutMs,
        restartMinMs: RESTART_MIN_MS,
        restartMaxMs: RESTART_MAX_MS,
        logger: this.logger,
        onTools: () => this.indexTools(),
      });
      this.connections.set(server.name, connection);
    }
  }

  /** Connects in the background: a slow or broken server never holds up or fails start-up. */
  onApplicationBootstrap(): void {
    for (const connection of this.connections.values()) connection.start();
  }

  /** After beforeApplicationShutdown, where running turns (and their tool calls) drain. */
  async onApplicationShutdown(): Promise<void> {
    await Promise.all([...this.connections.values()].map((c) => c.close()));
  }

  /** The configured server names, in file order. */
  get servers(): string[] {
    return [...this.connections.keys()];
  }

  /**
   * Checks `serverTools` patterns (`<server>/<tool>` or `<server>/*`) for a create or
   * PATCH: their syntax and that each server is configured. Whether a tool exists is known
   * only while its server is up, so it is not checked here.
   */
  validatePatterns(patterns: string[]): void {
    this.parsePatterns(patterns);
  }

  /**
   * The tools a turn may use. An unknown server or a malformed pattern is refused (400
   * `unknown_server_tool`); a server that is down gives no tools and is named in the set's
   * `unavailable`, so the turn goes on without them.
   */
  resolve(patterns: string[]): ServerToolSet {
    const definitions = new Map<string, ToolDefinition>();
    const unavailable: UnavailableServer[] = [];
    const missing: string[] = [];
    for (const { server, tool } of this.parsePatterns(patterns)) {
      const connection = this.connections.get(server) as McpConnection;
      if (connection.status !== 'ready') {
        if (!unavailable.some((u) => u.server === server)) {
          const reason = connection.error ?? connection.status;
          unavailable.push({ server, status: connection.status, reason });
        }
        continue;
      }
      const listed = connection.tools.filter((t) => tool === '*' || t.name === tool);
      if (listed.length === 0 && tool !== '*') missing.push(`${server}/${tool}`);
      for (const t of listed) {
        const name = modelToolName(server, t.name);
        definitions.set(name, {
          name,
          ...(t.description !== undefined && { description: t.description }),
          parameters: forProvider(t.inputSchema),
        });
      }
    }
    return new ServerToolSet([...definitions.values()], unavailable, missing, this);
  }

  /**
   * Runs the server tool the model called by its model-facing name, with the arguments as
   * the model sent them (a JSON object). Resolves with the output, or with an error result
   * in words the model can act on: bad arguments, the tool's own error, a protocol error,
   * TOOL_TIMEOUT_MS passing, a cancel through `signal`, a server down or gone mid-call.
   * Never rejects. Outputs longer than TOOL_OUTPUT_MAX_BYTES are cut and say so.
   */
  async call(
    modelName: string,
    argumentsJson: string,
    signal: AbortSignal,
  ): Promise<ServerToolResult> {
    const started = performance.now();
    const done = (server: string, outcome: ToolOutcome, output: string): ServerToolResult => {
      const durationMs = performance.now() - started;
      this.metrics.recordToolCall(server, outcome, durationMs / 1000);
      const capped = capOutput(output, this.maxOutputBytes);
      return { output: capped, isError: outcome !== 'ok', durationMs, outcome };
    };
    const target = this.targets.get(modelName);
    if (!target) return this.unresolved(modelName, done);
    const args = parseArguments(argumentsJson);
    if (typeof args === 'string') return done(target.server, 'bad_arguments', args);
    const connection = this.connections.get(target.server) as McpConnection;
    try {
      const answer = await connection.callTool(target.tool, args, signal);
      const output = renderToolContent(answer.content, answer.structuredContent);
      return done(target.server, answer.isError ? 'error' : 'ok', output);
    } catch (error) {
      const [outcome, output] = this.explain(error, target, signal);
      return done(target.server, outcome, output);
    }
  }

  /** Every configured server and how it is doing, for /health/ready. */
  health(): ServerHealth[] {
    return [...this.connections.values()].map((c) => ({
      name: c.name,
      transport: c.config.transport,
      status: c.status,
      tools: c.status === 'ready' ? c.tools.length : 0,
      ...(c.error !== undefined && c.status !== 'ready' && { error: c.error }),
    }));
  }

  private parsePatterns(patterns: string[]): Target[] {
    return patterns.map((pattern) => {
      const match = PATTERN.exec(pattern);
      if (!match || !TOOL_PART.test(match[2])) {
        throw this.refuse(
          `serverTools entry ${JSON.stringify(pattern)} is not "<server>/<tool>" or "<server>/*"`,
        );
      }
      const [, server, tool] = match;
      if (!this.connections.has(server))
        throw this.refuse(
          `serverTools entry ${JSON.stringify(pattern)} names unknown MCP server "${server}"`,
        );
      return { server, tool };
    });
  }

  private refuse(problem: string): AppException {
    const known = this.servers;
    const hint =
      known.length > 0
        ? `configured MCP servers: ${known.join(', ')}`
        : 'no MCP servers are configured (MCP_SERVERS_FILE)';
    return new AppException('unknown_server_tool', `${problem}; ${hint}`);
  }

  /** A name no ready server lists: its server down or starting, or no such tool. */
  private unresolved(
    modelName: string,
    done: (server: string, outcome: ToolOutcome, output: string) => ServerToolResult,
  ): ServerToolResult {
    const server = serverOfModelName(modelName, this.connections.keys());
    const connection = server === undefined ? undefined : this.connections.get(server);
    if (!server || !connection) {
      return done(
        '(none)',
        'unknown_tool',
        `There is no server tool named ${JSON.stringify(modelName)}.`,
      );
    }
    if (connection.status !== 'ready') {
      const why = connection.error ?? connection.status;
      return done(
        server,
        'unavailable',
        `The tool server "${server}" is unavailable (${why}); answer without it.`,
      );
    }
    return done(
      server,
      'unknown_tool',
      `The tool server "${server}" lists no tool named ${JSON.stringify(modelName)}.`,
    );
  }

  private explain(error: unknown, target: Target, signal: AbortSignal): [ToolOutcome, string] {
    const tool = `${target.server}/${target.tool}`;
    if (signal.aborted) return ['cancelled', `The call of ${tool} was cancelled.`];
    if (error instanceof this.mcp.ServerUnavailableError) {
      return [
        'unavailable',
        `The tool server "${target.server}" is unavailable (${error.message}); answer without it.`,
      ];
    }
    switch (this.mcp.callFailure(error)) {
      case 'timeout':
        return ['timeout', `${tool} did not answer within ${this.timeoutMs} ms and was cancelled.`];
      case 'closed':
        return [
          'unavailable',
          `The tool server "${target.server}" stopped while running ${tool}; it is being restarted.`,
        ];
      case 'error':
        return ['error', `${tool} failed: ${(error as Error).message}`];
      case 'other':
        return [
          'unavailable',
          `The tool server "${target.server}" could not be reached (${this.mcp.describe(error)}).`,
        ];
    }
  }

  private indexTools(): void {
    const targets = new Map<string, Target>();
    for (const connection of this.connections.values()) {
      for (const tool of connection.tools)
        targets.set(modelToolName(connection.name, tool.name), {
          server: connection.name,
          tool: tool.name,
        });
    }
    this.targets = targets;
  }
}

/**
 * A tool's input schema as providers take it: without the top-level `$schema` the SDKs'
 * servers add (some OpenAI-compatible providers refuse the keyword); the rest as given.
 */
function forProvider(schema: Record<string, unknown>): Record<string, unknown> {
  if (!('$schema' in schema)) return schema;
  const rest = { ...schema };
  delete rest.$schema;
  return rest;
}

/** The model's arguments as an object, or why not in words it can act on. */
export function parseArguments(json: string): Record<string, unknown> | string {
  if (json.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return `Invalid arguments: not JSON (${why}). Call the tool again with a JSON object.`;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const got = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
    return `Invalid arguments: expected a JSON object, got ${got}. Call the tool again with a JSON object.`;
  }
  return value as Record<string, unknown>;
}
