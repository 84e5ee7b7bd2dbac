import { Command } from 'commander';

import { ChatSession } from '../chat-session';
import { contextOf } from '../context';
import { INTERRUPTED_EXIT_CODE } from '../errors';
import { runInteractive } from '../interactive';

interface ChatOptions {
  conversation?: string;
  model?: string;
  interactive?: boolean;
}

export function chatCommand(): Command {
  return new Command('chat')
    .description(
      'send a message and stream the reply; with no message (or -i), chat interactively\n' +
        '(Ctrl-C cancels the running reply; Ctrl-D or Ctrl-C on an empty line exits)',
    )
    .argument('[message...]', 'the message (quote it, or its words are joined by spaces)')
    .option('-c, --conversation <id>', 'continue this conversation (default: start a new one)')
    .option('-m, --model <alias>', 'model alias for the reply (a new conversation keeps it)')
    .option('-i, --interactive', 'keep chatting after the message, one line per turn')
    .action(async (words: string[], options: ChatOptions, command: Command) => {
      const { client, json } = contextOf(command);
      const session = new ChatSession(client, {
        conversationId: options.conversation,
        model: options.model,
        json,
      });
      const message = words.join(' ');
      if (options.interactive || message.trim() === '') {
        await session.check();
        return runInteractive(session, { firstMessage: message, json });
      }
      await sendOnce(session, message);
    });
}

/** One turn; Ctrl-C cancels the reply on the server instead of leaving it running. */
async function sendOnce(session: ChatSession, message: string): Promise<void> {
  const onInterrupt = (): void => {
    if (!session.interrupt()) process.exit(INTERRUPTED_EXIT_CODE);
  };
  process.on('SIGINT', onInterrupt);
  try {
    await session.send(message);
  } finally {
    process.off('SIGINT', onInterrupt);
  }
}
