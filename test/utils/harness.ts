/**
 * The e2e harness. In a describe block:
 *
 *   const t = withTestApp({ env: { LLM_TIMEOUT_MS: '800' }, groq: 'same-fake' });
 *   it('should …', async () => {
 *     const id = await t.createConversation({ systemPrompt: 'Be brief.' });
 *     const res = await t.send(id, 'hello');              // asserts 201 unless { expect }
 *     const stream = await t.stream(id, 'again');          // resolves when the stream ended
 *     expect(streamedText(stream.events)).toBe('Echo: again [messages=4]');
 *     expect(t.fake.requests).toHaveLength(2);
 *   });
 *
 * withTestApp registers beforeAll/afterAll (and a beforeEach resetting the fakes) in the
 * block it is called in; the handle's fields are ready inside tests and later hooks. Each
 * call gets a fresh database cloned from the migrated template (`t.db`), a started
 * FakeLlmServer (`t.fake`) and the app on a free loopback port (`t.http` supertest agent,
 * `t.url`, `t.prisma`) with LMSTUDIO_BASE_URL on the fake, DEFAULT_MODEL=lmstudio/default,
 * LOG_LEVEL=silent, SUMMARIES=off and PROVIDER_FAILURES_TO_OPEN=1000 (no cooldown), overridden
 * by `env`.
 *
 * Options: `env` (an object, or a function read in beforeAll); `fake: false` (no fake:
 * LM Studio points at a closed port) or FakeLlmOptions; `groq: 'same-fake' | 'own-fake'`
 * (Groq configured against `t.fake`, or a second fake `t.groqFake`); `models` (written to a
 * temporary MODELS_FILE); `logs: true` (the app's JSON log lines in `t.logs`, raw in
 * `t.logText`, LOG_LEVEL=info).
 *
 * Helpers on the handle (and on every app): createConversation(body?, headers?),
 * send(id, message, { model, params, headers, expect }), stream(…) / openStream(…) (SSE
 * parsed as it arrives, see ./sse), storedMessages(id), waitForLog(match), close().
 * `t.startApp({ env, logs })` starts one more app on the same database and fakes, with the
 * same options plus these (closed in afterAll, or earlier with `close()`).
 */
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import type { Response } from 'supertest';
import TestAgent from 'supertest/lib/agent';

import { PrismaService } from '../../src/database/prisma.service';
import { FakeLlmOptions, FakeLlmServer } from '../fake-llm/fake-llm-server';
import { createTestDatabase, TestDatabase } from './database';
import { openSse, SseStream } from './sse';
import { startTestApp, TestApp } from './test-app';

export const CONVERSATIONS = '/api/v1/conversations';
/** Nothing listens on the discard port: a provider there is down, never a stray local server. */
export const CLOSED_PROVIDER_URL = 'http://127.0.0.1:9/v1';
/** Models the default fake accepts: LM Studio's first listed, and the Groq alias's upstream id. */
const FAKE_MODELS = ['fake-model', 'llama-3.3-70b-versatile'];
const GROQ_TEST_KEY = 'test-groq-key';

export type LogLine = Record<string, unknown> & { msg?: string };
type Env = Record<string, string>;

/** One alias of a MODELS_FILE (see docs/providers.md). */
export interface ModelDefinition {
  alias: string;
  provider: string;
  model?: string;
  contextWindow: number;
  maxOutputTokens?: number;
  params?: Record<string, number>;
  fallbacks?: string[];
  vision?: boolean;
  tools?: boolean;
  jsonSchema?: boolean;
}

export interface TestAppOptions {
  env?: Env | (() => Env);
  fake?: FakeLlmOptions | false;
  groq?: 'same-fake' | 'own-fake';
  models?: ModelDefinition[];
  logs?: boolean;
}

export interface MessageOptions {
  model?: string;
  params?: Record<string, unknown>;
  headers?: Record<string, string>;
}

/** Writes a MODELS_FILE into the temp directory and returns its path. */
export function writeModelsFile(models: ModelDefinition[]): string {
  const file = path.join(os.tmpdir(), `models-${randomBytes(6).toString('hex')}.json`);
  writeFileSync(file, JSON.stringify({ models }));
  return file;
}

/** Resolves once `check` holds, polling; rejects after `timeoutMs`. */
export async function waitUntil(check: () => Promise<boolean> | boolean, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** One running app and the API calls specs make on it. */
export class AppClient {
  private closing?: Promise<void>;

  constructor(
    private running?: TestApp,
    /** Parsed JSON log lines, when started with `logs: true`. */
    readonly logs: LogLine[] = [],
    protected readonly rawLogs: string[] = [],
  ) {}

  protected attach(app: TestApp): void {
    this.running = app;
  }

  private get app(): TestApp {
    if (!this.running)
      throw new Error('withTestApp: the app starts in beforeAll; use the handle inside tests');
    return this.running;
  }

  get http(): TestAgent {
    return this.app.http;
  }
  /** Origin, e.g. http://127.0.0.1:41234 */
  get url(): string {
    return this.app.url;
  }
  get prisma(): PrismaService {
    return this.app.prisma;
  }
  /** The Nest application, for a service a spec drives directly. */
  get nest(): TestApp['app'] {
    return this.app.app;
  }
  /** The raw log lines, one per line, for "never logged" checks. */
  get logText(): string {
    return this.rawLogs.join('');
  }

  /** Stops the app (draining running turns like a real shutdown); safe to call twice. */
  close(): Promise<void> {
    this.closing ??= this.running?.close() ?? Promise.resolve();
    return this.closing;
  }

  /** Creates a conversation and returns its id. */
  async createConversation(
    body: Record<string, unknown> = {},
    headers: Record<string, string> = {},
  ): Promise<string> {
    const res = await this.http.post(CONVERSATIONS).set(headers).send(body);
    expectStatus(res, 201, `POST ${CONVERSATIONS}`);
    return (res.body as { id: string }).id;
  }

  /** Sends one message for a whole reply; asserts the status (201 unless `expect`). */
  async send(
    id: string,
    message: string,
    options: MessageOptions & { expect?: number } = {},
  ): Promise<Response> {
    const { headers = {}, expect: status = 201, ...rest } = options;
    const path = `${CONVERSATIONS}/${id}/messages`;
    const res = await this.http
      .post(path)
      .set(headers)
      .send({ message, ...rest });
    expectStatus(res, status, `POST ${path}`);
    return res;
  }

  /** Streams one message and resolves once the server ended the stream. */
  async stream(id: string, message: string, options: MessageOptions = {}): Promise<SseStream> {
    const stream = await this.openStream(id, message, options);
    await stream.ended;
    return stream;
  }

  /** Starts streaming one message; resolves as soon as the response head arrived. */
  openStream(id: string, message: string, options: MessageOptions = {}): Promise<SseStream> {
    const { headers, ...rest } = options;
    return openSse(`${this.url}${CONVERSATIONS}/${id}/messages/stream`, {
      body: { message, ...rest },
      headers,
    });
  }

  /** The conversation's rows in the database, in order. */
  storedMessages(id: string) {
    return this.prisma.message.findMany({ where: { conversationId: id }, orderBy: { seq: 'asc' } });
  }

  /** The first log line matching, waiting for it (lines are written after the response). */
  async waitForLog(match: (line: LogLine) => boolean, timeoutMs = 2000): Promise<LogLine> {
    await waitUntil(() => this.logs.some(match), timeoutMs).catch(() => {
      throw new Error(`no such log line; last lines: ${JSON.stringify(this.logs.slice(-3))}`);
    });
    return this.logs.find(match)!;
  }
}

/** What withTestApp returns: the first app, its database and fakes, and more apps on demand. */
export class TestHandle extends AppClient {
  private database?: TestDatabase;
  private lmFake?: FakeLlmServer;
  private ownGroqFake?: FakeLlmServer;
  private readonly extraApps: AppClient[] = [];
  private modelsFile?: string;

  constructor(private readonly options: TestAppOptions) {
    super();
  }

  get db(): TestDatabase {
    return required(this.database, 'the database');
  }
  /** The fake LM Studio (and Groq, with `groq: 'same-fake'`). */
  get fake(): FakeLlmServer {
    return required(this.lmFake, 'the fake (withTestApp({ fake: false }) has none)');
  }
  /** The fake Groq is listening on. */
  get groqFake(): FakeLlmServer {
    return required(
      this.options.groq === 'own-fake' ? this.ownGroqFake : this.lmFake,
      'a Groq fake (pass groq: ...)',
    );
  }

  /** One more app on this database and these fakes; options add to withTestApp's. */
  async startApp(extra: { env?: Env; logs?: boolean } = {}): Promise<AppClient> {
    const logs: LogLine[] = [];
    const raw: string[] = [];
    const capture = extra.logs ?? this.options.logs ?? false;
    const app = await this.launch(extra.env ?? {}, capture, logs, raw);
    const client = new AppClient(app, logs, raw);
    this.extraApps.push(client);
    return client;
  }

  async setUp(): Promise<void> {
    const { fake, groq } = this.options;
    if (fake !== false) this.lmFake = new FakeLlmServer({ models: FAKE_MODELS, ...fake });
    if (groq === 'own-fake') this.ownGroqFake = new FakeLlmServer({ models: FAKE_MODELS });
    const [database] = await Promise.all([
      createTestDatabase(),
      this.lmFake?.start(),
      this.ownGroqFake?.start(),
    ]);
    this.database = database;
    if (this.options.models) this.modelsFile = writeModelsFile(this.options.models);
    this.attach(await this.launch({}, this.options.logs ?? false, this.logs, this.rawLogs));
  }

  async tearDown(): Promise<void> {
    await Promise.all([this.close(), ...this.extraApps.map((app) => app.close())]);
    await Promise.all([this.lmFake?.stop(), this.ownGroqFake?.stop(), this.database?.drop()]);
    if (this.modelsFile) rmSync(this.modelsFile, { force: true });
  }

  resetFakes(): void {
    this.lmFake?.reset();
    this.ownGroqFake?.reset();
  }

  private baseEnv(logs: boolean): Env {
    const env: Env = {
      LOG_LEVEL: logs ? 'info' : 'silent',
      LMSTUDIO_BASE_URL: this.lmFake?.openAiBaseUrl ?? CLOSED_PROVIDER_URL,
      DEFAULT_MODEL: 'lmstudio/default',
      // Summary jobs call the upstream in the background after a turn that overflowed its
      // window; specs that count upstream requests turn them on only to test memory.
      SUMMARIES: 'off',
      // Specs fail the fake on purpose many turns in a row; the cooldown has its own spec.
      PROVIDER_FAILURES_TO_OPEN: '1000',
    };
    if (this.options.groq) {
      env.GROQ_API_KEY = GROQ_TEST_KEY;
      env.GROQ_BASE_URL = this.groqFake.url;
    }
    if (this.modelsFile) env.MODELS_FILE = this.modelsFile;
    return env;
  }

  private launch(extraEnv: Env, logs: boolean, lines: LogLine[], raw: string[]): Promise<TestApp> {
    const own = this.options.env;
    const env = {
      ...this.baseEnv(logs),
      ...(typeof own === 'function' ? own() : own),
      ...extraEnv,
    };
    const write = (line: string): void => {
      raw.push(line);
      lines.push(JSON.parse(line) as LogLine);
    };
    return startTestApp(this.db.url, env, logs ? { logDestination: { write } } : {});
  }
}

/** Registers the set-up and teardown hooks in the calling describe block; see the top of this file. */
export function withTestApp(options: TestAppOptions = {}): TestHandle {
  const handle = new TestHandle(options);
  beforeAll(() => handle.setUp());
  afterAll(() => handle.tearDown());
  beforeEach(() => handle.resetFakes());
  return handle;
}

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined)
    throw new Error(`withTestApp: ${what} is not there (it is set up in beforeAll)`);
  return value;
}

function expectStatus(res: Response, status: number, what: string): void {
  if (res.status !== status)
    throw new Error(`${what}: expected ${status}, got ${res.status}: ${res.text}`);
}
