import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { Command, Option } from 'commander';

import type { ApiClient } from '../api-client';
import type { Conversation, Message, Page } from '../api-types';
import { contextOf } from '../context';
import { ApiError, CliError } from '../errors';
import { toMarkdown } from '../export-format';
import { printJson, stdout } from '../output';

type Format = 'json' | 'markdown';

const HELP = [
  '',
  "Uses the server's GET /api/v1/conversations/:id/export when it has one. On a server",
  'without it (404 not_found on that route) the conversation is read page by page',
  'through GET /api/v1/conversations/:id/messages and the document is built here:',
  '{ conversation, messages } for json; a heading per message, in order, for markdown.',
  '',
  'With --all, every conversation of the account in one document, from GET /api/v1/export',
  '(e.g. chat-cli export --all > my-chats.json).',
].join('\n');

export function exportCommand(): Command {
  return new Command('export')
    .description('print a whole conversation, or every conversation (--all), as JSON or Markdown')
    .argument('[id]', 'conversation id')
    .option('--all', 'every conversation of the account, archived ones too')
    .addOption(
      new Option('--format <format>', 'output format')
        .choices(['json', 'markdown'])
        .default('json'),
    )
    .addHelpText('after', HELP)
    .action(async (id: string | undefined, options: ExportOptions, command: Command) => {
      const { client } = contextOf(command);
      if (Boolean(options.all) === (id !== undefined))
        throw new CliError('give a conversation id, or --all for every conversation');
      if (options.all) return print(await openAccountExport(client, options.format));
      const response = await openExport(client, id!, options.format);
      if (!response) return exportFromMessages(client, id!, options.format);
      await print(response);
    });
}

interface ExportOptions {
  format: Format;
  all?: boolean;
}

/** The server's document, streamed to stdout as it arrives. */
async function print(response: Response): Promise<void> {
  if (response.body)
    await pipeline(Readable.fromWeb(response.body), process.stdout, { end: false });
}

const accept = (format: Format) => (format === 'json' ? 'application/json' : 'text/markdown');

/** GET /api/v1/export; a server without it says so (no fallback: it would read everything). */
async function openAccountExport(client: ApiClient, format: Format): Promise<Response> {
  try {
    return await client.open('GET', '/export', { query: { format }, accept: accept(format) });
  } catch (error) {
    if (error instanceof ApiError && error.code === 'not_found')
      throw new CliError(
        'this server has no account export (GET /api/v1/export): export conversations one by one',
      );
    throw error;
  }
}

/** The server's export, or undefined when it has no such route (yet). */
async function openExport(
  client: ApiClient,
  id: string,
  format: Format,
): Promise<Response | undefined> {
  try {
    return await client.open('GET', `/conversations/${id}/export`, {
      query: { format },
      accept: accept(format),
    });
  } catch (error) {
    // An unknown route is `not_found`; an unknown conversation is `conversation_not_found`.
    if (error instanceof ApiError && error.code === 'not_found') return undefined;
    throw error;
  }
}

/** The same document from the REST API any server has: the conversation and its message pages. */
async function exportFromMessages(client: ApiClient, id: string, format: Format): Promise<void> {
  const conversation = await client.get<Conversation>(`/conversations/${id}`);
  const messages: Message[] = [];
  let cursor: string | null = null;
  do {
    const page: Page<Message> = await client.get(`/conversations/${id}/messages`, {
      limit: 100,
      cursor: cursor ?? undefined,
    });
    messages.push(...page.data);
    cursor = page.nextCursor;
  } while (cursor !== null);
  if (format === 'json') printJson({ conversation, messages });
  else stdout(toMarkdown(conversation, messages));
}
