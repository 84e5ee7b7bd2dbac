import { createInterface } from 'node:readline/promises';
import { Writable } from 'node:stream';

/** One line typed on the terminal without echo; the prompt goes to stderr. */
async function askHidden(prompt: string): Promise<string> {
  process.stderr.write(prompt);
  const silent = new Writable({ write: (_chunk, _encoding, done) => done() });
  const rl = createInterface({ input: process.stdin, output: silent, terminal: true });
  try {
    return await rl.question('');
  } finally {
    rl.close();
    process.stderr.write('\n');
  }
}

/**
 * A password: typed without echo on a terminal (twice with `confirm`), else all of stdin
 * less its final newline, so scripts can pipe it in and it never sits in argv or history.
 */
export async function readPassword(options: { confirm?: boolean } = {}): Promise<string> {
  if (!process.stdin.isTTY) {
    let text = '';
    for await (const chunk of process.stdin) text += String(chunk);
    return text.replace(/\r?\n$/, '');
  }
  const password = await askHidden('Password: ');
  if (options.confirm && (await askHidden('Again: ')) !== password)
    throw new Error('the two passwords differ');
  return password;
}
