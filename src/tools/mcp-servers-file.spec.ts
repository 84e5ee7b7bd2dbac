import { readFileSync } from 'node:fs';
import path from 'node:path';

import { ConfigError } from '../config/env';
import { McpServersInput, resolveMcpServers } from './mcp-servers-file';

const variables: Record<string, string> = { GITHUB_TOKEN: 'ghp_secret', HOME_DIR: '/home/me' };

function resolve(file: unknown): ReturnType<typeof resolveMcpServers> {
  const input: McpServersInput = {
    file: { path: '/etc/mcp.json', text: typeof file === 'string' ? file : JSON.stringify(file) },
    variable: (name) => variables[name],
  };
  return resolveMcpServers(input);
}

function problems(file: unknown): string {
  try {
    resolve(file);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe(resolveMcpServers.name, () => {
  it('should give no servers when MCP_SERVERS_FILE is unset', () => {
    expect(resolveMcpServers({ variable: () => undefined })).toEqual([]);
  });

  it('should read a Claude Desktop file: stdio and Streamable HTTP servers', () => {
    const servers = resolve({
      globalShortcut: 'Ctrl+Space',
      mcpServers: {
        files: {
          command: 'npx',
          args: ['-y', '@modelcontextprotocol/server-filesystem', '${HOME_DIR}/notes'],
          env: { LOG: 'debug' },
          cwd: '/tmp',
        },
        github: {
          url: 'https://api.example.com/mcp',
          headers: { Authorization: 'Bearer ${GITHUB_TOKEN}' },
        },
        typed: { type: 'http', url: 'http://127.0.0.1:8931/mcp' },
        off: { command: 'nothing', disabled: true },
      },
    });
    expect(servers).toEqual([
      {
        name: 'files',
        transport: 'stdio',
        command: 'npx',
        args: ['-y', '@modelcontextprotocol/server-filesystem', '/home/me/notes'],
        env: { LOG: 'debug' },
        cwd: '/tmp',
      },
      {
        name: 'github',
        transport: 'http',
        url: 'https://api.example.com/mcp',
        headers: { Authorization: 'Bearer ghp_secret' },
      },
      { name: 'typed', transport: 'http', url: 'http://127.0.0.1:8931/mcp', headers: {} },
    ]);
  });

  it('should take a default for an unset variable, and name one without', () => {
    const [server] = resolve({
      mcpServers: { a: { command: 'x', env: { LEVEL: '${LEVEL:-info}' } } },
    });
    expect(server).toMatchObject({ env: { LEVEL: 'info' } });
    expect(
      problems({ mcpServers: { a: { command: 'x', env: { T: '${MISSING_TOKEN}' } } } }),
    ).toContain('MCP_SERVERS_FILE=/etc/mcp.json: mcpServers.a.env.T: ${MISSING_TOKEN} is unset');
  });

  it('should name every problem of a broken file at once', () => {
    const message = problems({
      mcpServers: {
        'bad name': { command: 'x' },
        neither: { args: ['a'] },
        both: { command: 'x', url: 'http://localhost/mcp' },
        wrongArgs: { command: 'x', args: 'a b' },
        wrongEnv: { command: 'x', env: { N: 1 } },
        wrongUrl: { url: 'ftp://example.com' },
        sse: { type: 'sse', url: 'http://localhost/sse' },
      },
    });
    expect(message.split('\n').slice(1)).toEqual(
      expect.arrayContaining([
        expect.stringContaining('mcpServers.bad name: a server name is 1 to 48 letters'),
        expect.stringContaining('mcpServers.neither: needs "command" (a stdio server) or "url"'),
        expect.stringContaining('mcpServers.both: give either "command" (stdio) or "url"'),
        expect.stringContaining('mcpServers.wrongArgs.args: '),
        expect.stringContaining('mcpServers.wrongEnv.env.N: must be a string'),
        expect.stringContaining('mcpServers.wrongUrl.url: '),
        expect.stringContaining('mcpServers.sse.type: type must be stdio or http'),
      ]),
    );
  });

  it('should refuse a file that is not JSON or has no mcpServers object', () => {
    expect(problems('{ nope')).toContain('cannot read it as JSON');
    expect(problems({ servers: {} })).toContain('expected a JSON object {"mcpServers"');
    const unreadable = { path: '/nope.json', text: new Error('ENOENT: no such file') };
    expect(() => resolveMcpServers({ file: unreadable, variable: () => undefined })).toThrow(
      'MCP_SERVERS_FILE=/nope.json: cannot read it (ENOENT: no such file)',
    );
  });

  it('should read the example file of docs/examples', () => {
    const file = path.resolve(__dirname, '../../docs/examples/mcp-servers.json');
    const servers = resolveMcpServers({
      file: { path: file, text: readFileSync(file, 'utf8') },
      variable: (name) => (name === 'GITHUB_TOKEN' ? 'ghp_example' : undefined),
    });
    expect(servers.map((s) => `${s.name}:${s.transport}`)).toEqual([
      'files:stdio',
      'github:http',
      'demo:stdio',
    ]);
    expect(servers[2]).toMatchObject({ env: { LOG_LEVEL: 'info' } });
  });
});
