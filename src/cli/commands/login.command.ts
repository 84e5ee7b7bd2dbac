import { Command } from 'commander';

import { contextOf } from '../context';
import { printJson, stdout } from '../output';
import { readPassword } from '../password-prompt';

interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in: number;
  refresh_token: string;
}

export function loginCommand(): Command {
  return new Command('login')
    .description(
      'sign in to a server with built-in users (AUTH_MODE=local) and print the access token: ' +
        'export CHAT_TOKEN=$(chat-cli login alice); the password is asked for, or read from stdin',
    )
    .argument('<username>')
    .action(async (username: string, _options: object, command: Command) => {
      const { client, json } = contextOf(command);
      const password = await readPassword();
      const tokens = await client.post<TokenResponse>('/auth/token', { username, password });
      if (json) return printJson(tokens);
      stdout(`${tokens.access_token}\n`);
    });
}
