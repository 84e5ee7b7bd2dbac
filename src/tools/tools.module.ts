import { readFileSync } from 'node:fs';

import { Module } from '@nestjs/common';

import { AppConfig } from '../config/app-config';
import { McpServerConfig, resolveMcpServers } from './mcp-servers-file';
import { MCP_SERVERS, ServerToolsService } from './server-tools.service';

function readText(path: string): string | Error {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

/**
 * MCP_SERVERS_FILE, checked at start-up (main.ts runs it before anything starts): every
 * problem stops the service, all named in one ConfigError. Unset: no servers.
 */
export function loadMcpServers(config: Pick<AppConfig, 'get' | 'variable'>): McpServerConfig[] {
  const path = config.get('MCP_SERVERS_FILE');
  return resolveMcpServers({
    file: path ? { path, text: readText(path) } : undefined,
    variable: (name) => config.variable(name),
  });
}

@Module({
  providers: [
    { provide: MCP_SERVERS, useFactory: loadMcpServers, inject: [AppConfig] },
    ServerToolsService,
  ],
  exports: [ServerToolsService],
})
export class ToolsModule {}
