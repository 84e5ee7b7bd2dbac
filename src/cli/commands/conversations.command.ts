import { Command } from 'commander';

import type { ApiClient } from '../api-client';
import type { Conversation, Page } from '../api-types';
import { contextOf, parsePositiveInt } from '../context';
import { ApiError } from '../errors';
import { printJson, stderr, stdout, table } from '../output';

const MAX_PAGE = 100;

interface ListOptions {
  q?: string;
  limit: number;
  cursor?: string;
}

export function conversationsCommand(): Command {
  return new Command('conversations')
    .description('list conversations, latest activity first')
    .option('--q <text>', 'only those matching the text (server search; titles if it has none)')
    .option('--limit <n>', 'how many (pages are fetched as needed)', parsePositiveInt, 20)
    .option('--cursor <cursor>', 'continue after a previous listing (its nextCursor)')
    .action(async (options: ListOptions, command: Command) => {
      const { client, json } = contextOf(command);
      const page = await listConversations(client, options, json);
      if (json) return printJson(page);
      if (page.data.length === 0) return stderr('no conversations\n');
      stdout(table(['ID', 'LAST ACTIVITY (UTC)', 'MODEL', 'TITLE'], page.data.map(toRow)));
      if (page.nextCursor) stderr(`more: --cursor ${page.nextCursor}\n`);
    });
}

async function listConversations(
  client: ApiClient,
  options: ListOptions,
  json: boolean,
): Promise<Page<Conversation>> {
  try {
    return await collect(client, options, options.q);
  } catch (error) {
    if (options.q === undefined || !searchUnsupported(error)) throw error;
    if (!json)
      stderr('note: the server has no search (GET /conversations?q=): matching titles only\n');
    const needle = options.q.toLowerCase();
    const matches = (c: Conversation): boolean => !!c.title?.toLowerCase().includes(needle);
    // The server's cursor cannot say where a filtered page stopped, so none is offered.
    return { data: (await collect(client, options, undefined, matches)).data, nextCursor: null };
  }
}

/** Pages through the list until `limit` conversations (that `keep`) are found or it ends. */
async function collect(
  client: ApiClient,
  { limit, cursor }: ListOptions,
  q: string | undefined,
  keep?: (conversation: Conversation) => boolean,
): Promise<Page<Conversation>> {
  const data: Conversation[] = [];
  let next: string | null = cursor ?? null;
  do {
    const size = keep ? MAX_PAGE : Math.min(MAX_PAGE, limit - data.length);
    const page: Page<Conversation> = await client.get('/conversations', {
      q,
      limit: size,
      cursor: next ?? undefined,
    });
    data.push(...(keep ? page.data.filter(keep) : page.data));
    next = page.nextCursor;
  } while (next !== null && data.length < limit);
  return { data: data.slice(0, limit), nextCursor: next };
}

/** Today's server rejects the unknown `q` parameter (whitelisted query DTO). */
function searchUnsupported(error: unknown): boolean {
  if (!(error instanceof ApiError) || error.code !== 'validation_failed') return false;
  return (error.body.details ?? []).some(
    (detail) => detail.field === 'q' && detail.errors.some((e) => /should not exist/.test(e)),
  );
}

function toRow(conversation: Conversation): string[] {
  return [
    conversation.id,
    conversation.lastMessageAt.slice(0, 16).replace('T', ' '),
    conversation.model ?? '(default)',
    conversation.title ?? '(untitled)',
  ];
}
