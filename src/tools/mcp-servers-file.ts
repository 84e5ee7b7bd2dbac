import { plainToInstance } from 'class-transformer';
import {
  IsArray,
  IsBoolean,
  IsIn,
  IsObject,
  IsOptional,
  IsString,
  IsUrl,
  MinLength,
  validateSync,
  ValidationError,
} from 'class-validator';

import { ConfigError } from '../config/env';

/** A server the service starts and speaks to over its stdin and stdout. */
export interface StdioServerConfig {
  name: string;
  transport: 'stdio';
  command: string;
  args: string[];
  /** Added to the few variables every child gets (PATH, HOME, …); never the service's own. */
  env: Record<string, string>;
  cwd?: string;
}

/** A server the service reaches over Streamable HTTP. */
export interface HttpServerConfig {
  name: string;
  transport: 'http';
  url: string;
  headers: Record<string, string>;
}

export type McpServerConfig = StdioServerConfig | HttpServerConfig;

/**
 * Letters, digits, `_` and `-`: a server name is the first half of `<server>/<tool>` and of
 * the model-facing `<server>__<tool>`, which OpenAI limits to those characters.
 */
const SERVER_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,47}$/;
const VARIABLE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;
/** `type` as the clients write it (Claude Code, Cursor, VS Code); `sse` is the old transport. */
const TYPES = ['stdio', 'http', 'streamable-http', 'streamableHttp'] as const;

class ServerDefinition {
  @IsOptional() @IsIn(TYPES, { message: `type must be stdio or http` }) type?: string;
  @IsOptional() @IsString() @MinLength(1) command?: string;
  @IsOptional() @IsArray() @IsString({ each: true }) args?: string[];
  @IsOptional() @IsObject() env?: Record<string, unknown>;
  @IsOptional() @IsString() @MinLength(1) cwd?: string;
  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] })
  url?: string;
  @IsOptional() @IsObject() headers?: Record<string, unknown>;
  /** Some clients' switch to keep an entry without starting it. */
  @IsOptional() @IsBoolean() disabled?: boolean;
}

export interface McpServersInput {
  /** MCP_SERVERS_FILE's path and text, when set; `text` is an Error when it could not be read. */
  file?: { path: string; text: string | Error };
  /** An environment variable, for `${VAR}` in the file; empty as unset. */
  variable: (name: string) => string | undefined;
}

function flatten(errors: ValidationError[], at: string): string[] {
  return errors.flatMap((error) => [
    ...Object.values(error.constraints ?? {}).map((c) => `${at}.${error.property}: ${c}`),
    ...flatten(error.children ?? [], `${at}.${error.property}`),
  ]);
}

/** `${VAR}` and `${VAR:-default}` replaced from the environment; an unset one is a problem. */
function expand(value: string, at: string, input: McpServersInput, problems: string[]): string {
  return value.replace(VARIABLE, (_match, name: string, fallback: string | undefined) => {
    const found = input.variable(name) ?? fallback;
    if (found === undefined)
      problems.push(`${at}: \${${name}} is unset (or give a default: \${${name}:-value})`);
    return found ?? '';
  });
}

function stringMap(
  value: Record<string, unknown> | undefined,
  at: string,
  input: McpServersInput,
  problems: string[],
): Record<string, string> {
  const map: Record<string, string> = {};
  for (const [key, item] of Object.entries(value ?? {})) {
    if (typeof item !== 'string') problems.push(`${at}.${key}: must be a string`);
    else map[key] = expand(item, `${at}.${key}`, input, problems);
  }
  return map;
}

function toServer(
  name: string,
  d: ServerDefinition,
  input: McpServersInput,
  problems: string[],
): McpServerConfig | undefined {
  const at = `mcpServers.${name}`;
  const http = d.type !== undefined && d.type !== 'stdio';
  if (d.command !== undefined && d.url !== undefined) {
    problems.push(`${at}: give either "command" (stdio) or "url" (Streamable HTTP), not both`);
  } else if (d.url !== undefined || http) {
    if (d.url === undefined) return void problems.push(`${at}: type ${d.type} needs a "url"`);
    const url = expand(d.url, `${at}.url`, input, problems);
    return {
      name,
      transport: 'http',
      url,
      headers: stringMap(d.headers, `${at}.headers`, input, problems),
    };
  } else if (d.command !== undefined) {
    const ex = (value: string, where: string): string => expand(value, where, input, problems);
    return {
      name,
      transport: 'stdio',
      command: ex(d.command, `${at}.command`),
      args: (d.args ?? []).map((arg, i) => ex(arg, `${at}.args[${i}]`)),
      env: stringMap(d.env, `${at}.env`, input, problems),
      ...(d.cwd !== undefined && { cwd: ex(d.cwd, `${at}.cwd`) }),
    };
  } else {
    problems.push(`${at}: needs "command" (a stdio server) or "url" (a Streamable HTTP server)`);
  }
  return undefined;
}

function parseServers(text: string, input: McpServersInput, problems: string[]): McpServerConfig[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    problems.push(`cannot read it as JSON (${(error as Error).message})`);
    return [];
  }
  const servers = (raw as { mcpServers?: unknown } | null)?.mcpServers;
  if (typeof servers !== 'object' || servers === null || Array.isArray(servers)) {
    problems.push('expected a JSON object {"mcpServers": {"<name>": {"command": …} | {"url": …}}}');
    return [];
  }
  const found: McpServerConfig[] = [];
  for (const [name, value] of Object.entries(servers)) {
    const at = `mcpServers.${name}`;
    if (!SERVER_NAME.test(name))
      problems.push(
        `${at}: a server name is 1 to 48 letters, digits, _ and - (starting with a letter or digit)`,
      );
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      problems.push(`${at}: expected an object`);
      continue;
    }
    const definition = plainToInstance(ServerDefinition, value);
    const errors = validateSync(definition, { forbidUnknownValues: true });
    problems.push(...flatten(errors, at));
    if (errors.length > 0 || definition.disabled) continue;
    const server = toServer(name, definition, input, problems);
    if (server) found.push(server);
  }
  return found;
}

/**
 * The MCP servers of MCP_SERVERS_FILE (none when it is unset): `{ "mcpServers": { "<name>":
 * { "command", "args"?, "env"?, "cwd"? } | { "url", "headers"? } } }`, as Claude Desktop,
 * Cursor and other MCP clients write it; other top-level keys of such a file are ignored.
 * Throws one ConfigError naming every problem.
 */
export function resolveMcpServers(input: McpServersInput): McpServerConfig[] {
  const { file } = input;
  if (!file) return [];
  const problems: string[] = [];
  const servers =
    file.text instanceof Error
      ? void problems.push(`cannot read it (${file.text.message})`)
      : parseServers(file.text, input, problems);
  if (problems.length > 0) {
    throw new ConfigError(
      `Invalid MCP servers file:\n  ${problems.map((p) => `MCP_SERVERS_FILE=${file.path}: ${p}`).join('\n  ')}`,
    );
  }
  return servers ?? [];
}
