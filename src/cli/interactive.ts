import readline from 'node:readline';

import type { ChatSession } from './chat-session';
import { CliError, INTERRUPTED_EXIT_CODE, reportError } from './errors';
import { stderr } from './output';

export interface InteractiveOptions {
  /** Sent as the first turn, when given with -i. */
  firstMessage: string;
  json: boolean;
}

/**
 * A prompt holding one conversation, one line per turn. Ctrl-C arrives as readline's
 * SIGINT on a terminal (raw mode) and as a real signal otherwise; both land here.
 */
export async function runInteractive(
  session: ChatSession,
  options: InteractiveOptions,
): Promise<void> {
  const typing = process.stdin.isTTY === true;
  const terminal = typing && process.stderr.isTTY === true;
  // Prompts go to stderr so stdout holds only replies; piped input gets none.
  const rl = readline.createInterface({
    input: process.stdin,
    output: process.stderr,
    terminal,
    prompt: typing ? 'you> ' : '',
  });
  const onInterrupt = (): void => {
    if (session.interrupt()) return;
    if (rl.line) {
      // Like a shell: Ctrl-C on a typed line drops it; on an empty one it leaves.
      stderr('^C\n');
      // Ctrl-U empties the line and redraws the prompt below the ^C.
      return rl.write(null, { ctrl: true, name: 'u' });
    }
    rl.close();
  };
  rl.on('SIGINT', onInterrupt);
  process.on('SIGINT', onInterrupt);
  if (terminal) stderr('Ctrl-C cancels a reply; Ctrl-D, or Ctrl-C on an empty line, exits.\n');
  try {
    if (options.firstMessage.trim() !== '') await turn(session, options.firstMessage, options.json);
    rl.prompt();
    // Lines typed (or piped) while a reply streams wait their turn in the iterator.
    for await (const line of rl) {
      if (line.trim() !== '') await turn(session, line, options.json);
      rl.prompt();
    }
  } finally {
    process.off('SIGINT', onInterrupt);
    rl.close();
  }
  if (terminal) stderr('\n');
}

/** A failed turn is reported and the prompt comes back; only the user ends the session. */
async function turn(session: ChatSession, message: string, json: boolean): Promise<void> {
  try {
    await session.send(message);
  } catch (error) {
    const cancelled = error instanceof CliError && error.exitCode === INTERRUPTED_EXIT_CODE;
    if (cancelled && !json) stderr('[reply cancelled]\n');
    else reportError(error, json);
  }
}
