import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

import { SignJWT } from 'jose';

import { generateApiKey, hashApiKey } from '../src/auth/api-keys';
import { freePort } from './utils/free-port';
import { withTestApp } from './utils/harness';
import { ProductionBuild } from './utils/production-build';

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;
const SECRET = 'cli-test-secret-that-is-long-enough-0123';
// util-linux `script` runs a program on a pseudo-terminal fed from a pipe.
const HAS_SCRIPT = spawnSync('script', ['--version']).status === 0;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The built program running as a child process, its output collected as it arrives. */
class CliProcess {
  stdout = '';
  stderr = '';
  readonly exited: Promise<Run>;
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly waiters = new Set<() => void>();

  /** Runs `node <bin> …args`, or with `node: false` the command `bin` itself. */
  constructor(bin: string, args: string[], env: Record<string, string>, node = true) {
    const inherited = Object.fromEntries(
      Object.entries(process.env).filter(([key]) => !key.startsWith('CHAT_')),
    );
    const [command, argv] = node ? [process.execPath, [bin, ...args]] : [bin, args];
    this.child = spawn(command, argv, { env: { ...inherited, ...env } });
    this.child.stdout.setEncoding('utf8').on('data', (text: string) => this.add('stdout', text));
    this.child.stderr.setEncoding('utf8').on('data', (text: string) => this.add('stderr', text));
    this.exited = new Promise((resolve) =>
      this.child.on('close', (code) => resolve({ code, stdout: this.stdout, stderr: this.stderr })),
    );
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  write(text: string): void {
    this.child.stdin.write(text);
  }

  end(): void {
    this.child.stdin.end();
  }

  signal(name: NodeJS.Signals): void {
    this.child.kill(name);
  }

  /** Resolves once stdout/stderr satisfies `check`; fails with what was printed otherwise. */
  async until(check: (out: { stdout: string; stderr: string }) => boolean, timeoutMs = 15000) {
    if (check(this)) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`output not seen; stdout: ${this.stdout}\nstderr: ${this.stderr}`));
      }, timeoutMs);
      const waiter = () => {
        if (!check(this)) return;
        clearTimeout(timer);
        this.waiters.delete(waiter);
        resolve();
      };
      this.waiters.add(waiter);
    });
  }

  private add(stream: 'stdout' | 'stderr', text: string): void {
    this[stream] += text;
    for (const waiter of [...this.waiters]) waiter();
  }
}

const count = (text: string, part: string): number => text.split(part).length - 1;

/** The fake's reply; N counts the messages it was sent (a default system prompt included). */
const echo = (text: string): RegExp => new RegExp(`Echo: ${text} \\[messages=(\\d+)\\]`);
const sentMessages = (reply: string): number => Number(/\[messages=(\d+)\]/.exec(reply)?.[1]);

// The real binary from the production build (cached by its inputs, shared with the other
// specs that run it): dist/cli/main.js beside package.json, packages found up the tree.
let build: ProductionBuild | undefined;
beforeAll(() => {
  build = ProductionBuild.start();
});
afterAll(() => build?.stop());

describe('Command line (chat-cli)', () => {
  const t = withTestApp({ env: { LMSTUDIO_MODEL: 'fake-model', LLM_TIMEOUT_MS: '20000' } });
  let bin: string;

  beforeAll(async () => {
    await build!.ready();
    bin = path.join(build!.root, 'dist', 'cli', 'main.js');
  }, 300_000);

  const started: CliProcess[] = [];
  const start = (args: string[], env: Record<string, string> = {}) => {
    const cli = new CliProcess(bin, args, { CHAT_URL: t.url, ...env });
    started.push(cli);
    return cli;
  };
  // A failed expectation must not leave a program waiting on its stdin.
  afterEach(() => {
    for (const cli of started.splice(0)) if (cli.alive) cli.signal('SIGKILL');
  });
  const run = (args: string[], env: Record<string, string> = {}) => {
    const cli = start(args, env);
    cli.end();
    return cli.exited;
  };

  const createConversation = (body: Record<string, unknown> = {}) => t.createConversation(body);
  const storedMessages = (id: string) => t.storedMessages(id);

  it('should list the models as a table, and as the API document with --json', async () => {
    const table = await run(['models']);
    expect(table).toMatchObject({ code: 0, stderr: '' });
    expect(table.stdout).toMatch(/^ALIAS\s+PROVIDER\s+CONTEXT\s+AVAILABLE$/m);
    expect(table.stdout).toMatch(/^lmstudio\/default \*\s+lmstudio\s+\d+\s+yes$/m);

    const json = await run(['models', '--json']);
    expect(json.code).toBe(0);
    const body = JSON.parse(json.stdout);
    expect(body.data).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ alias: 'lmstudio/default', available: true, default: true }),
      ]),
    );
  });

  it('should list conversations, page through them with --limit, and filter with --q', async () => {
    const trip = await createConversation({ title: 'Trip to Lisbon' });
    const recipes = await createConversation({ title: 'Recipes' });

    const table = await run(['conversations']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(new RegExp(`^${recipes}\\s.*Recipes$`, 'm'));
    expect(table.stdout).toMatch(new RegExp(`^${trip}\\s.*Trip to Lisbon$`, 'm'));

    const first = JSON.parse((await run(['--json', 'conversations', '--limit', '1'])).stdout);
    expect(first.data.map((c: { id: string }) => c.id)).toEqual([recipes]);
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = JSON.parse(
      (await run(['conversations', '--json', '--limit', '1', '--cursor', first.nextCursor])).stdout,
    );
    expect(second.data.map((c: { id: string }) => c.id)).toEqual([trip]);

    const search = await run(['conversations', '--q', 'lisbon', '--json']);
    expect(search.code).toBe(0);
    expect(JSON.parse(search.stdout).data.map((c: { id: string }) => c.id)).toEqual([trip]);
  });

  it('should stream a reply to the terminal as it arrives, in a new conversation whose id it prints', async () => {
    // Slow chunks: the first words must show before the provider has sent the rest.
    t.fake.script({ kind: 'streamSlow', chunkDelayMs: 1000 });
    const cli = start(['chat', 'hello', 'there']);
    cli.end();
    await cli.until(({ stdout }) => stdout.includes('Echo:'));
    expect(t.fake.requests[0].completed).toBe(false);
    const result = await cli.exited;

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^${echo('hello there').source}\n$`));
    const id = UUID.exec(result.stderr)?.[0];
    expect(result.stderr).toContain(`conversation ${id}`);
    const stored = await storedMessages(id!);
    expect(stored.map((m) => [m.role, m.status, m.content])).toEqual([
      ['user', 'complete', 'hello there'],
      ['assistant', 'complete', result.stdout.trimEnd()],
    ]);
  });

  it('should continue a conversation and print the final turn response with --json', async () => {
    const id = await createConversation();
    const first = await run(['chat', '--conversation', id, 'first']);
    expect(first.code).toBe(0);

    const result = await run(['--json', 'chat', '-c', id, 'second']);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const turn = JSON.parse(result.stdout);
    // The server kept the history: the first turn's two messages went into this prompt.
    expect(sentMessages(turn.response)).toBe(sentMessages(first.stdout) + 2);
    expect(turn).toEqual({
      conversationId: id,
      response: expect.stringMatching(echo('second')),
      model: 'lmstudio/default',
      userMessage: expect.objectContaining({ role: 'user', content: 'second', seq: 2 }),
      assistantMessage: expect.objectContaining({
        role: 'assistant',
        status: 'complete',
        content: turn.response,
      }),
      usage: expect.objectContaining({ completionTokens: 3 }),
      latencyMs: expect.any(Number),
    });
  });

  it("should print the server's error code and message on stderr and exit non-zero", async () => {
    const missing = '0193a000-0000-7000-8000-000000000000';
    const result = await run(['chat', '--conversation', missing, 'hi']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^error: conversation_not_found: .+/);

    const json = await run(['--json', 'export', missing]);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stderr)).toMatchObject({
      statusCode: 404,
      error: 'conversation_not_found',
      message: expect.any(String),
    });
  });

  it('should say that the server is not running when nothing answers at --url', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const result = await run(['--url', url, 'models']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`cannot reach ${url}: is the server running (npm start)?`);
  });

  it('should export a conversation as json and markdown through the server export route', async () => {
    const id = await createConversation({ title: 'Export me' });
    const reply = (await run(['chat', '-c', id, 'what is up'])).stdout.trimEnd();
    expect(reply).toMatch(echo('what is up'));

    const json = await run(['export', id]);
    expect(json.code).toBe(0);
    const document = JSON.parse(json.stdout);
    expect(document.conversation).toMatchObject({ id, title: 'Export me' });
    expect(document.messages.map((m: { content: string }) => m.content)).toEqual([
      'what is up',
      reply,
    ]);

    const markdown = await run(['export', id, '--format', 'markdown']);
    expect(markdown.code).toBe(0);
    expect(markdown.stdout).toContain('# Export me\n');
    expect(markdown.stdout).toContain('## User\n\nwhat is up\n');
    expect(markdown.stdout).toContain(`## Assistant (lmstudio/default)\n\n${reply}\n`);
  });

  it('should export every conversation of the account with --all', async () => {
    await t.prisma.conversation.deleteMany();
    const first = await createConversation({ title: 'First of all' });
    const second = await createConversation({ title: 'Archived one' });
    await t.http.patch(`/api/v1/conversations/${second}`).send({ archived: true }).expect(200);
    await run(['chat', '-c', first, 'hello all']);

    const json = await run(['export', '--all']);
    expect(json).toMatchObject({ code: 0, stderr: '' });
    const document = JSON.parse(json.stdout);
    expect(
      document.conversations.map((c: { conversation: { id: string } }) => c.conversation.id),
    ).toEqual([first, second]);
    expect(document.conversations[0].messages[0].content).toBe('hello all');

    const markdown = await run(['export', '--all', '--format', 'markdown']);
    expect(markdown.code).toBe(0);
    expect(markdown.stdout).toMatch(/^# Chat export\n/);
    expect(markdown.stdout).toContain('\n# First of all\n');
    expect(markdown.stdout).toContain('\n# Archived one\n');

    for (const args of [['export'], ['export', first, '--all']]) {
      const wrong = await run(args);
      expect(wrong).toMatchObject({ code: 1, stdout: '' });
      expect(wrong.stderr).toContain('give a conversation id, or --all for every conversation');
    }
  });

  it("should print the server's own document when it has the export route (planned: GET …/export)", async () => {
    const id = '0193a000-0000-7000-8000-00000000e4b0';
    const seen: string[] = [];
    const stub = http.createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      res.writeHead(200, { 'Content-Type': 'text/markdown' }).end('# Exported by the server\n');
    });
    await new Promise<void>((resolve) => stub.listen(0, '127.0.0.1', resolve));
    const { port } = stub.address() as AddressInfo;
    try {
      const result = await run(['export', id, '--format', 'markdown'], {
        CHAT_URL: `http://127.0.0.1:${port}`,
      });
      expect(result).toMatchObject({ code: 0, stdout: '# Exported by the server\n' });
      expect(seen).toEqual([`GET /api/v1/conversations/${id}/export?format=markdown`]);
    } finally {
      await new Promise((resolve) => stub.close(resolve));
    }
  });

  it('should hold one conversation interactively: Ctrl-C cancels the running reply, not the program; EOF exits 0', async () => {
    const cli = start(['chat']);
    cli.write('first line\n');
    await cli.until(({ stdout }) => echo('first line').test(stdout));
    const before = sentMessages(cli.stdout);
    const id = UUID.exec(cli.stderr)![0];

    // A reply slow enough that it is certainly still running when the signal lands.
    t.fake.script({ kind: 'streamSlow', chunkDelayMs: 5000 });
    cli.write('second line\n');
    await cli.until(({ stdout }) => count(stdout, 'Echo:') === 2);
    cli.signal('SIGINT');
    await cli.until(({ stderr }) => stderr.includes('[reply cancelled]'));
    expect(cli.alive).toBe(true);
    const cancelled = (await storedMessages(id)).at(-1);
    expect(cancelled).toMatchObject({ role: 'assistant', status: 'cancelled', content: 'Echo:' });

    cli.write('third line\n');
    await cli.until(({ stdout }) => echo('third line').test(stdout));
    // Still the same conversation: the earlier turns (the cancelled one's message too) were sent.
    expect(sentMessages(echo('third line').exec(cli.stdout)![0])).toBeGreaterThanOrEqual(
      before + 3,
    );
    cli.end();
    const result = await cli.exited;
    expect(result.code).toBe(0);
    expect((await storedMessages(id)).map((m) => m.status)).toEqual([
      'complete',
      'complete',
      'complete',
      'cancelled',
      'complete',
      'complete',
    ]);
  });

  it('should send the message given with -i first, and leave at Ctrl-C between replies with exit code 0', async () => {
    const cli = start(['chat', '-i', 'opening words']);
    // The line break comes once the reply is stored and no reply is running any more.
    await cli.until(({ stdout }) => new RegExp(`${echo('opening words').source}\n`).test(stdout));
    cli.signal('SIGINT');
    expect(await cli.exited).toMatchObject({ code: 0 });
  });

  // A real terminal: readline in raw mode, where Ctrl-C is the byte 0x03 and not a signal.
  (HAS_SCRIPT ? it : it.skip)(
    `should cancel on Ctrl-C typed in a terminal and exit on Ctrl-C at the empty prompt${HAS_SCRIPT ? '' : ' (skipped: util-linux script is not installed)'}`,
    async () => {
      const tty = new CliProcess(
        'script',
        ['-qfec', `"${process.execPath}" "${bin}" chat`, '/dev/null'],
        {
          CHAT_URL: t.url,
        },
        false,
      );
      started.push(tty);
      await tty.until(({ stdout }) => stdout.includes('you> '));
      tty.write('over a terminal\r');
      await tty.until(({ stdout }) => echo('over a terminal').test(stdout));
      const id = UUID.exec(tty.stdout)![0];

      t.fake.script({ kind: 'streamSlow', chunkDelayMs: 5000 });
      tty.write('slowly please\r');
      await tty.until(({ stdout }) => count(stdout, 'Echo:') === 2);
      tty.write('\x03');
      await tty.until(({ stdout }) => stdout.includes('[reply cancelled]'));
      expect((await storedMessages(id)).at(-1)).toMatchObject({ status: 'cancelled' });

      tty.write('\x03');
      expect((await tty.exited).code).toBe(0);
    },
  );

  describe('credentials', () => {
    it('should send --api-key (or CHAT_API_KEY) as X-API-Key', async () => {
      const key = generateApiKey();
      const app = await t.startApp({
        env: { AUTH_MODE: 'api-key', API_KEYS: `carol:${hashApiKey(key).toString('hex')}` },
      });
      try {
        const refused = await run(['models'], { CHAT_URL: app.url });
        expect(refused.code).toBe(1);
        expect(refused.stderr).toContain('error: missing_credentials:');
        expect((await run(['--api-key', key, 'models'], { CHAT_URL: app.url })).code).toBe(0);
        expect((await run(['models'], { CHAT_URL: app.url, CHAT_API_KEY: key })).code).toBe(0);
      } finally {
        await app.close();
      }
    });

    it('should send --token (or CHAT_TOKEN) as Authorization: Bearer', async () => {
      const app = await t.startApp({ env: { AUTH_MODE: 'jwt', JWT_SECRET: SECRET } });
      const token = await new SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('dave')
        .setExpirationTime('1h')
        .sign(new TextEncoder().encode(SECRET));
      try {
        const refused = await run(['--token', 'not.a.jwt', 'conversations'], { CHAT_URL: app.url });
        expect(refused.stderr).toContain('error: invalid_token:');
        expect((await run(['--token', token, 'conversations'], { CHAT_URL: app.url })).code).toBe(
          0,
        );
        expect((await run(['conversations'], { CHAT_URL: app.url, CHAT_TOKEN: token })).code).toBe(
          0,
        );
      } finally {
        await app.close();
      }
    });

    it('should sign in to built-in users with login (password on stdin) and print a token --token takes', async () => {
      const app = await t.startApp({
        env: { AUTH_MODE: 'local', LOCAL_JWT_SECRET: SECRET },
      });
      const password = 'correct horse battery staple';
      const login = (username: string, typed: string) => {
        const cli = start(['login', username], { CHAT_URL: app.url });
        cli.write(`${typed}\n`);
        cli.end();
        return cli.exited;
      };
      try {
        await app.http
          .post('/api/v1/auth/register')
          .send({ username: 'erin', password })
          .expect(201);
        const wrong = await login('erin', 'not the password');
        expect(wrong.code).toBe(1);
        expect(wrong.stderr).toContain('error: invalid_credentials:');
        const signedIn = await login('erin', password);
        expect(signedIn).toMatchObject({ code: 0, stdout: expect.stringMatching(/^ey\S+\n$/) });
        const token = signedIn.stdout.trim();
        expect((await run(['--token', token, 'conversations'], { CHAT_URL: app.url })).code).toBe(
          0,
        );
      } finally {
        await app.close();
      }
    });
  });
});
