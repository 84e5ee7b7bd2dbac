import { readFileSync } from 'node:fs';
import path from 'node:path';

import { Command, Option } from 'commander';

import { chatCommand } from './commands/chat.command';
import { conversationsCommand } from './commands/conversations.command';
import { exportCommand } from './commands/export.command';
import { loginCommand } from './commands/login.command';
import { modelsCommand } from './commands/models.command';
import { parseServerUrl } from './context';

/** package.json sits two folders up from both src/cli (tsx) and dist/cli (built). */
function version(): string {
  const file = path.join(__dirname, '..', '..', 'package.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

export function buildProgram(): Command {
  return new Command('chat-cli')
    .description('Talk to a running chat backend over HTTP')
    .version(version())
    .addOption(
      new Option('--url <url>', 'server origin')
        .env('CHAT_URL')
        .default('http://localhost:3000')
        .argParser(parseServerUrl),
    )
    .addOption(new Option('--token <jwt>', 'sent as Authorization: Bearer').env('CHAT_TOKEN'))
    .addOption(new Option('--api-key <key>', 'sent as X-API-Key').env('CHAT_API_KEY'))
    .option('--json', 'print one JSON document on stdout (errors as JSON on stderr)')
    .showHelpAfterError('(add --help for usage)')
    .addCommand(modelsCommand())
    .addCommand(conversationsCommand())
    .addCommand(chatCommand())
    .addCommand(exportCommand())
    .addCommand(loginCommand());
}
