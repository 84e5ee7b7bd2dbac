import type { ToolDefinition } from '../llm/llm.types';

/**
 * How a server tool call ended: `ok`; `error` (the tool said so: MCP `isError`, or the
 * server answered the call with a protocol error); `timeout` (TOOL_TIMEOUT_MS passed);
 * `cancelled` (the signal aborted); `unavailable` (the server is down, or went away during
 * the call); `bad_arguments` (not a JSON object); `unknown_tool` (no such server tool).
 */
export type ToolOutcome =
  'ok' | 'error' | 'timeout' | 'cancelled' | 'unavailable' | 'bad_arguments' | 'unknown_tool';

/** What a server tool call hands back to the model: never thrown, always a result. */
export interface ServerToolResult {
  /** The tool's output, or what went wrong in words the model can act on; capped. */
  output: string;
  isError: boolean;
  durationMs: number;
  outcome: ToolOutcome;
}

export interface ServerHealth {
  name: string;
  transport: 'stdio' | 'http';
  status: 'ready' | 'starting' | 'unavailable';
  /** Tools it serves now (0 unless ready). */
  tools: number;
  /** Why it is not ready. */
  error?: string;
}

/** A server a pattern named whose tools are left out of a set, because it is not ready. */
export interface UnavailableServer {
  server: string;
  status: 'starting' | 'unavailable';
  reason: string;
}

export interface ServerToolCaller {
  call(modelName: string, argumentsJson: string, signal: AbortSignal): Promise<ServerToolResult>;
}

/**
 * The server tools one turn may use, resolved from its `serverTools` patterns: definitions
 * for the provider under model-facing names (`<server>__<tool>`), and what was left out.
 */
export class ServerToolSet {
  private readonly names: ReadonlySet<string>;

  constructor(
    readonly definitions: ToolDefinition[],
    /** Servers named by a pattern that are down or still starting: none of their tools are in. */
    readonly unavailable: UnavailableServer[],
    /** `<server>/<tool>` patterns naming a tool the (ready) server does not list. */
    readonly missing: string[],
    private readonly caller: ServerToolCaller,
  ) {
    this.names = new Set(definitions.map((d) => d.name));
  }

  /** Whether `modelName` (a tool call's name) is one of this set's tools. */
  has(modelName: string): boolean {
    return this.names.has(modelName);
  }

  /** Calls a tool of this set; a name outside it is an error result, as any other. */
  call(modelName: string, argumentsJson: string, signal: AbortSignal): Promise<ServerToolResult> {
    if (!this.has(modelName)) {
      return Promise.resolve({
        output: `There is no tool named ${JSON.stringify(modelName)} here; use one of: ${[...this.names].join(', ') || '(none)'}.`,
        isError: true,
        durationMs: 0,
        outcome: 'unknown_tool',
      });
    }
    return this.caller.call(modelName, argumentsJson, signal);
  }

  /** One line for a log or a note, naming what was left out; undefined when nothing was. */
  describeLeftOut(): string | undefined {
    const parts = [
      ...this.unavailable.map((u) => `server ${u.server} is ${u.status} (${u.reason})`),
      ...this.missing.map((m) => `${m} is not listed by its server`),
    ];
    return parts.length > 0 ? `Server tools left out: ${parts.join('; ')}` : undefined;
  }
}
