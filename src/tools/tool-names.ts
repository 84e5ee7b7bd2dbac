import { createHash } from 'node:crypto';

/** What OpenAI (and the providers copying it) accept as a function name. */
const FUNCTION_NAME = /^[a-zA-Z0-9_-]{1,64}$/;
const SEPARATOR = '__';
const HASH_CHARS = 8;

/**
 * The name the model sees for tool `tool` of server `server`: `<server>__<tool>` when that
 * is a valid function name, else its characters made valid, cut to fit, and ended with a
 * short hash of the real pair, so distinct tools never share a name. The same pair always
 * gets the same name, in every process: a stored tool call names it for the next step.
 */
export function modelToolName(server: string, tool: string): string {
  const plain = `${server}${SEPARATOR}${tool}`;
  if (FUNCTION_NAME.test(plain)) return plain;
  const hash = createHash('sha256').update(`${server}/${tool}`).digest('hex').slice(0, HASH_CHARS);
  const cleaned = plain.replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, 64 - HASH_CHARS - 1);
  return `${cleaned}_${hash}`;
}

/** The server a model-facing name starts with, when no listed tool matches it (yet). */
export function serverOfModelName(name: string, servers: Iterable<string>): string | undefined {
  let best: string | undefined;
  for (const server of servers) {
    if (name.startsWith(`${server}${SEPARATOR}`) && (!best || server.length > best.length))
      best = server;
  }
  return best;
}
