/**
 * Fake OpenAI-compatible LLM server for end-to-end tests and offline demos.
 *
 * Routes (each also served under Groq's `/openai` prefix, e.g. `/openai/v1/models`):
 *   GET  /v1/models                list of the configured models
 *   GET  /v1/models/:id            one model, or 404
 *   POST /v1/chat/completions      chat completion, JSON or SSE (`stream: true`)
 * Anything else is a 404 with an OpenAI-style error body.
 *
 * Default reply (deterministic, so tests can assert what the model was sent):
 *   `Echo: <text of the last user message> [messages=<N>]`
 * where N counts every message in the request, system ones included. If the last user
 * message starts with `/think`, the reply is instead
 *   `<think>reasoning here</think>The answer.`
 * A title request (system message starting `You name conversations.`, as the service sends
 * after a first reply) is answered
 *   `Title: "<first 6 words the user wrote>"\nTopics: <up to 3 distinct words of 4+ letters>`
 * (the quotes are there for the service to clean off).
 * A summary request (the service's memory: a system message starting "Update the running
 * summary") is answered with a summary that keeps facts verbatim: the lines of the current
 * summary, then each new `user:` line (assistant lines are dropped), one per line.
 *
 * Tools (so function calling is testable offline; the same rule whole and streamed):
 *   - When the request offers function `tools` and its LAST message is a user message that
 *     mentions a tool's name (as a whole word), the reply calls that tool: content null,
 *     finish_reason `tool_calls`, call ids `call_fake<N>_<i>`. Its arguments are the first
 *     JSON object found in that user message, compacted; without one, an instance built from
 *     the tool's `parameters` schema (every property: its `const`/first `enum`/`default`,
 *     else "text", 0, true, [] or a nested instance), `{}` when it has none.
 *   - Several tools mentioned: one call each, in the order offered (parallel calls), unless
 *     `parallel_tool_calls: false` (then only the first).
 *   - `tool_choice: "required"` calls the mentioned tools or else the first tool; a named
 *     function calls that one only; both only when the last message is a user message (so
 *     an agent loop ends). `tool_choice: "none"` never calls.
 *   - Streamed, each call comes as OpenAI's pieces: one with index, id, type and name (and
 *     empty arguments), then its arguments in three pieces.
 *   - When the last messages are `tool` results, the reply is
 *     `Tool results: <output 1> | <output 2>`, each output verbatim, in order.
 * Structured output: with `response_format` `json_object` or `json_schema`, the reply is the
 * first JSON object of the last user message when there is one; else, for `json_schema`, an
 * instance of its schema (as above), for `json_object` `{"reply": "<the default reply>"}`.
 *
 * Token accounting: the reply is split into word pieces, each keeping its leading
 * whitespace; one piece = one completion token = one streamed content chunk.
 * prompt_tokens = number of whitespace-separated words across all message texts.
 * `max_tokens` / `max_completion_tokens` below the piece count truncates the reply
 * and sets finish_reason 'length'.
 *
 * `script()` queues one-shot behaviours consumed in order, one per valid chat request.
 * `requests` records every valid chat request: its whole body, plus the tools offered and
 * the tool_choice it carried (`toolsOffered`, `toolChoice`).
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, STATUS_CODES } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface FakeLlmOptions {
  /** Delay before the first byte of every chat-completion response. */
  latencyMs?: number;
  /** Delay between streamed chunks. */
  tokenDelayMs?: number;
  /** Accepted model ids; default ['fake-model']. */
  models?: string[];
  /**
   * The API key every request must carry as `Authorization: Bearer <key>`; otherwise 401
   * with OpenAI's body (`invalid_api_key`), as api.openai.com answers. Unset: any or none.
   */
  apiKey?: string;
}

export interface ChatMessage {
  role: string;
  content?:
    | string
    | Array<{ type: string; text?: string; image_url?: { url?: string; detail?: string } }>
    | null;
  [key: string]: unknown;
}

/** An image a request carried (an `image_url` part), as the model would have seen it. */
export interface SeenImage {
  /** From a data URL; null for a plain URL. */
  mimeType: string | null;
  /** Hex SHA-256 of the decoded bytes (of the URL itself when it is not a data URL). */
  sha256: string;
  /** Decoded bytes; 0 for a plain URL. */
  bytes: number;
}

export interface ChatRequestBody {
  model: string;
  messages: ChatMessage[];
  stream?: boolean | null;
  stream_options?: { include_usage?: boolean } | null;
  max_tokens?: number | null;
  max_completion_tokens?: number | null;
  tools?: FakeTool[] | null;
  tool_choice?: unknown;
  parallel_tool_calls?: boolean | null;
  response_format?: { type?: string; json_schema?: { schema?: unknown } } | null;
  [key: string]: unknown;
}

export interface FakeTool {
  type?: string;
  function?: { name?: string; description?: string; parameters?: unknown; strict?: boolean };
}

/** A tool call the fake sends: scripted ones may break every rule, to test the bounds. */
export interface FakeToolCall {
  id?: string;
  name: string;
  arguments: string;
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/** A chat-completion request that passed body validation (400s and model lists are not recorded). */
export interface RecordedRequest {
  path: string;
  method: string;
  headers: IncomingHttpHeaders;
  body: ChatRequestBody;
  /** The names of the function tools the request offered, in order. */
  toolsOffered: string[];
  /** The request's tool_choice as sent; undefined when absent. */
  toolChoice: unknown;
  /** The client closed the connection before the response finished. */
  aborted: boolean;
  /** The response was fully sent. */
  completed: boolean;
  /** When the request was recorded, and when its response ended or its connection closed,
   * on a monotonic clock (`performance.now()`): compare them with each other only. */
  receivedAt: number;
  endedAt?: number;
  /** Every image part of the request's messages, in order. */
  images: SeenImage[];
}

export type ScriptStep =
  /** Error response; `body` defaults to OpenAI error JSON, a string is sent verbatim as text/plain. */
  | { kind: 'error'; status: number; body?: unknown; retryAfter?: string }
  /**
   * Custom reply; `usage: null` sends no usage at all, undefined computes it. `toolCalls`
   * are sent as they are (any name, any size, no id when left out), whole or streamed.
   */
  | {
      kind: 'reply';
      content: string;
      finishReason?: string;
      usage?: Usage | null;
      toolCalls?: FakeToolCall[];
    }
  /** Never respond (until the client aborts or the server stops). */
  | { kind: 'hang' }
  /** Wait, then the default reply. */
  | { kind: 'slow'; delayMs: number }
  /** Wait until `until` settles, then the default reply: holds requests in flight together. */
  | { kind: 'held'; until: Promise<unknown> }
  /**
   * Streaming: send `afterChunks` content chunks, then destroy the socket. Non-streaming:
   * destroy at once. `burst`: headers and chunks go out in one write and the connection is
   * reset right after it, as a crashing server or a proxy does: they arrive with the reset.
   */
  | { kind: 'drop'; afterChunks: number; burst?: boolean }
  /**
   * Non-streaming: a 200 with the whole reply's headers (its full Content-Length) and half
   * its JSON body, then the connection is closed, as a server that crashes while writing does.
   */
  | { kind: 'cutBody' }
  /** Default reply streamed with this delay between chunks. */
  | { kind: 'streamSlow'; chunkDelayMs: number }
  /**
   * A runaway model: streaming, content chunks of `piece` (default ' word') without end,
   * until the client closes the connection. Non-streaming: the default reply.
   */
  | { kind: 'endless'; piece?: string }
  /**
   * Bytes as they are, for fuzzing what a broken or hostile server sends: a 200 with the
   * content type of the request's mode (text/event-stream, or application/json without a
   * Content-Length), then each write in turn, each flushed before the next, then the
   * response ends (`end`, the default), or the connection is closed (`close`) or reset
   * (`reset`). The caller frames them (`data: …\n\n` events, a JSON body) or breaks the frame.
   */
  | { kind: 'raw'; writes: Uint8Array[]; ending?: 'end' | 'close' | 'reset' };

interface ReplyPlan {
  content: string;
  toolCalls: FakeToolCall[];
  endless?: string;
  finishReason?: string;
  usage?: Usage | null;
  chunkDelayMs: number;
  dropAfterChunks?: number;
  burst?: boolean;
  cutBody?: boolean;
}

const ROUTE = /^(?:\/openai)?\/v1\/(chat\/completions|models(?:\/(.+))?)$/;
const FINGERPRINT = 'fp_fake';

export class FakeLlmServer {
  readonly requests: RecordedRequest[] = [];
  /** Requests refused with 401 for a missing or wrong API key (see `apiKey`). */
  refusedKeys = 0;
  private readonly queue: ScriptStep[] = [];
  private readonly events = new EventEmitter();
  private readonly models: string[];
  private server?: Server;
  private origin?: string;
  private stopping = false;
  private seq = 0;

  constructor(private readonly options: FakeLlmOptions = {}) {
    this.models = options.models ?? ['fake-model'];
    this.events.setMaxListeners(0);
  }

  /** Resolves with the origin once listening. */
  async start(port = 0, host = '127.0.0.1'): Promise<string> {
    if (this.server) throw new Error('FakeLlmServer already started');
    const server = createServer((req, res) => void this.handle(req, res));
    this.server = server;
    this.stopping = false;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const { port: actual } = server.address() as AddressInfo;
    const urlHost =
      host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
    this.origin = `http://${urlHost}:${actual}`;
    return this.origin;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.stopping = true;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
    this.server = undefined;
    this.origin = undefined;
  }

  /** Origin, e.g. http://127.0.0.1:PORT (the Groq SDK's baseURL). */
  get url(): string {
    if (!this.origin) throw new Error('FakeLlmServer not started');
    return this.origin;
  }

  get openAiBaseUrl(): string {
    return `${this.url}/v1`;
  }

  script(...steps: ScriptStep[]): this {
    this.queue.push(...steps);
    return this;
  }

  reset(): void {
    this.refusedKeys = 0;
    this.requests.length = 0;
    this.queue.length = 0;
  }

  /** Resolves once `predicate` holds; re-checked whenever a request is recorded, completes or aborts. */
  waitFor(
    predicate: (requests: readonly RecordedRequest[]) => boolean,
    timeoutMs = 5000,
  ): Promise<RecordedRequest[]> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!predicate(this.requests)) return;
        cleanup();
        resolve([...this.requests]);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new Error(
            `FakeLlmServer.waitFor timed out after ${timeoutMs}ms (${this.requests.length} requests)`,
          ),
        );
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.events.off('change', check);
      };
      this.events.on('change', check);
      check();
    });
  }

  waitForRequests(n: number, timeoutMs = 5000): Promise<RecordedRequest[]> {
    return this.waitFor((requests) => requests.length >= n, timeoutMs);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const path = (req.url ?? '/').split('?')[0];
      const match = ROUTE.exec(path);
      if (this.options.apiKey !== undefined && !this.authorized(req)) {
        await readBody(req);
        this.refusedKeys++;
        return this.refuseKey(req, res);
      }
      if (match?.[1] === 'chat/completions' && req.method === 'POST') {
        await this.chat(req, res, path);
      } else if (match?.[1].startsWith('models') && req.method === 'GET') {
        this.listModels(res, match[2] === undefined ? undefined : decodeURIComponent(match[2]));
      } else {
        await readBody(req);
        sendError(
          res,
          404,
          `Unknown request URL: ${req.method} ${path}`,
          'invalid_request_error',
          'unknown_url',
        );
      }
    } catch (err) {
      // Aborts surface as rejected sleeps; anything else is a bug worth a 500 rather than a hung client.
      if (!res.headersSent && !res.destroyed)
        sendError(res, 500, String(err), 'server_error', null);
      else if (!res.writableEnded) res.destroy();
    }
  }

  private authorized(req: IncomingMessage): boolean {
    return req.headers.authorization === `Bearer ${this.options.apiKey}`;
  }

  /** OpenAI's answers to a missing and to a wrong key. */
  private refuseKey(req: IncomingMessage, res: ServerResponse): void {
    const given = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const message = given
      ? `Incorrect API key provided: ${given.slice(0, 3)}***${given.slice(-4)}. You can find your API key at https://platform.openai.com/account/api-keys.`
      : "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).";
    sendError(res, 401, message, 'invalid_request_error', given ? 'invalid_api_key' : null);
  }

  private listModels(res: ServerResponse, id: string | undefined): void {
    const toModel = (model: string) => ({
      id: model,
      object: 'model',
      created: 1700000000,
      owned_by: 'fake',
    });
    if (id === undefined)
      return sendJson(res, 200, { object: 'list', data: this.models.map(toModel) });
    if (this.models.includes(id)) return sendJson(res, 200, toModel(id));
    sendError(
      res,
      404,
      `The model \`${id}\` does not exist`,
      'invalid_request_error',
      'model_not_found',
    );
  }

  private async chat(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readBody(req));
    } catch {
      return sendError(res, 400, 'Invalid JSON body', 'invalid_request_error', null);
    }
    const invalid = validate(parsed);
    if (invalid)
      return sendError(res, 400, invalid.message, 'invalid_request_error', null, invalid.param);
    const body = parsed as ChatRequestBody;

    const record: RecordedRequest = {
      path,
      method: req.method ?? 'POST',
      headers: req.headers,
      body,
      toolsOffered: functionNames(body),
      toolChoice: body.tool_choice,
      aborted: false,
      completed: false,
      receivedAt: performance.now(),
      images: imagesOf(body.messages),
    };
    this.requests.push(record);
    const abort = new AbortController();
    let selfClosed = false;
    res.on('finish', () => {
      record.completed = true;
      record.endedAt ??= performance.now();
      this.events.emit('change');
    });
    res.on('close', () => {
      record.endedAt ??= performance.now();
      abort.abort();
      if (!res.writableFinished && !selfClosed && !this.stopping) {
        record.aborted = true;
        this.events.emit('change');
      }
    });
    this.events.emit('change');

    if (!this.models.includes(body.model)) {
      return sendError(
        res,
        404,
        `The model \`${body.model}\` does not exist`,
        'invalid_request_error',
        'model_not_found',
      );
    }
    const step = this.queue.shift();
    const signal = abort.signal;
    if (this.options.latencyMs) await sleep(this.options.latencyMs, undefined, { signal });

    const id = ++this.seq;
    const toolCalls = plannedToolCalls(body, id);
    const plan: ReplyPlan = {
      content: toolCalls.length > 0 ? '' : replyText(body),
      toolCalls,
      chunkDelayMs: this.options.tokenDelayMs ?? 0,
    };
    switch (step?.kind) {
      case 'error': {
        const headers: Record<string, string> =
          step.retryAfter === undefined ? {} : { 'Retry-After': step.retryAfter };
        if (typeof step.body === 'string') {
          res.writeHead(step.status, { 'Content-Type': 'text/plain', ...headers }).end(step.body);
          return;
        }
        const errorBody = step.body ?? {
          error: {
            message: `Fake ${step.status} error: ${STATUS_CODES[step.status] ?? 'Unknown'}`,
            type: step.status >= 500 ? 'server_error' : 'invalid_request_error',
            param: null,
            code: step.status === 429 ? 'rate_limit_exceeded' : null,
          },
        };
        return sendJson(res, step.status, errorBody, headers);
      }
      case 'hang':
        return;
      case 'slow':
        await sleep(step.delayMs, undefined, { signal });
        break;
      case 'held':
        await settledOrAborted(step.until, signal);
        break;
      case 'reply':
        Object.assign(plan, {
          content: step.content,
          finishReason: step.finishReason,
          usage: step.usage,
          toolCalls: step.toolCalls ?? [],
        });
        break;
      case 'drop':
        if (!body.stream) {
          selfClosed = true;
          req.socket.destroy();
          return;
        }
        plan.dropAfterChunks = step.afterChunks;
        plan.burst = step.burst;
        break;
      case 'streamSlow':
        plan.chunkDelayMs = step.chunkDelayMs;
        break;
      case 'cutBody':
        plan.cutBody = true;
        break;
      case 'endless':
        plan.endless = step.piece ?? ' word';
        break;
      case 'raw':
        selfClosed = step.ending === 'close' || step.ending === 'reset';
        return sendRaw(res, Boolean(body.stream), step.writes, step.ending ?? 'end');
    }

    const allPieces = splitPieces(plan.content);
    const limit = body.max_completion_tokens ?? body.max_tokens;
    const truncated = typeof limit === 'number' && limit < allPieces.length;
    const pieces = truncated ? allPieces.slice(0, Math.max(0, limit)) : allPieces;
    const calls = plan.toolCalls;
    const finishReason =
      plan.finishReason ?? (calls.length > 0 ? 'tool_calls' : truncated ? 'length' : 'stop');
    const callTokens = calls.reduce((sum, call) => sum + 1 + splitPieces(call.arguments).length, 0);
    const usage =
      plan.usage === undefined
        ? computeUsage(body.messages, pieces.length + callTokens)
        : (plan.usage ?? undefined);
    const base = {
      id: `chatcmpl-fake${id}`,
      created: Math.floor(Date.now() / 1000),
      model: body.model,
      system_fingerprint: FINGERPRINT,
    };
    const requestId = { 'x-request-id': `req_fake${id}` };

    if (!body.stream) {
      const completion = {
        ...base,
        object: 'chat.completion',
        choices: [
          {
            index: 0,
            message:
              calls.length === 0
                ? { role: 'assistant', content: pieces.join('') }
                : {
                    role: 'assistant',
                    content: pieces.length > 0 ? pieces.join('') : null,
                    tool_calls: calls.map((call) => ({
                      ...(call.id !== undefined && { id: call.id }),
                      type: 'function',
                      function: { name: call.name, arguments: call.arguments },
                    })),
                  },
            logprobs: null,
            finish_reason: finishReason,
          },
        ],
        ...(usage ? { usage } : {}),
      };
      if (!plan.cutBody) return sendJson(res, 200, completion, requestId);
      const json = Buffer.from(JSON.stringify(completion));
      res.writeHead(200, {
        'Content-Type': 'application/json',
        'Content-Length': json.length,
        ...requestId,
      });
      selfClosed = true;
      // Close once the half is on the wire (the response corks its socket until the next tick).
      res.write(json.subarray(0, json.length >> 1), () => res.socket?.resetAndDestroy());
      return;
    }

    res.writeHead(200, {
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-cache',
      ...requestId,
    });
    if (!plan.burst) res.flushHeaders();
    const includeUsage = body.stream_options?.include_usage === true;
    // Like OpenAI: with include_usage every chunk carries `usage: null` until the final usage chunk.
    const chunk = (delta: object, finish: string | null) => ({
      ...base,
      object: 'chat.completion.chunk',
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
      ...(includeUsage ? { usage: null } : {}),
    });
    const send = async (payload: unknown, delay: boolean): Promise<void> => {
      if (delay && plan.chunkDelayMs > 0) await sleep(plan.chunkDelayMs, undefined, { signal });
      await writeEvent(res, payload === '[DONE]' ? '[DONE]' : JSON.stringify(payload));
    };

    if (plan.burst) {
      const sent = [chunk({ role: 'assistant', content: '' }, null)];
      for (const piece of pieces.slice(0, plan.dropAfterChunks))
        sent.push(chunk({ content: piece }, null));
      selfClosed = true;
      // Reset once the bytes are on the wire: destroying at once would discard them unsent
      // (the response corks its socket until the next tick).
      res.write(sent.map((c) => `data: ${JSON.stringify(c)}\n\n`).join(''), () =>
        res.socket?.resetAndDestroy(),
      );
      return;
    }
    await send(chunk({ role: 'assistant', content: '' }, null), false);
    // Until the client goes away: a write to a closed response rejects and ends the handler.
    const { endless } = plan;
    while (endless !== undefined) await send(chunk({ content: endless }, null), true);
    for (const [i, piece] of pieces.entries()) {
      if (i === plan.dropAfterChunks) break;
      await send(chunk({ content: piece }, null), true);
    }
    if (plan.dropAfterChunks !== undefined) {
      selfClosed = true;
      res.socket?.destroy();
      return;
    }
    for (const [index, call] of calls.entries()) {
      const head = { index, ...(call.id !== undefined && { id: call.id }), type: 'function' };
      await send(
        chunk({ tool_calls: [{ ...head, function: { name: call.name, arguments: '' } }] }, null),
        true,
      );
      for (const piece of thirds(call.arguments))
        await send(chunk({ tool_calls: [{ index, function: { arguments: piece } }] }, null), true);
    }
    await send(chunk({}, finishReason), true);
    if (includeUsage && usage)
      await send({ ...base, object: 'chat.completion.chunk', choices: [], usage }, false);
    await send('[DONE]', false);
    res.end();
  }
}

function validate(body: unknown): { message: string; param: string } | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { message: 'Request body must be a JSON object', param: 'body' };
  }
  const { model, messages } = body as Record<string, unknown>;
  if (typeof model !== 'string' || model === '')
    return { message: 'you must provide a model parameter', param: 'model' };
  if (!Array.isArray(messages) || messages.length === 0) {
    return { message: "'messages' must be a non-empty array", param: 'messages' };
  }
  const bad = messages.findIndex(
    (m) => typeof m !== 'object' || m === null || typeof (m as ChatMessage).role !== 'string',
  );
  if (bad >= 0)
    return {
      message: `'messages.${bad}' must be an object with a string 'role'`,
      param: `messages.${bad}`,
    };
  return undefined;
}

function textOf(message: ChatMessage): string {
  const { content } = message;
  if (typeof content === 'string') return content;
  if (Array.isArray(content))
    return content.map((part) => (part.type === 'text' ? (part.text ?? '') : '')).join('');
  return '';
}

/** The image parts of `messages`: data URLs decoded and hashed, plain URLs hashed as text. */
export function imagesOf(messages: ChatMessage[]): SeenImage[] {
  const images: SeenImage[] = [];
  for (const message of messages) {
    if (!Array.isArray(message.content)) continue;
    for (const part of message.content) {
      const url = part.type === 'image_url' ? part.image_url?.url : undefined;
      if (typeof url !== 'string') continue;
      const data = /^data:([^;,]+);base64,(.*)$/s.exec(url);
      const bytes = data ? Buffer.from(data[2], 'base64') : Buffer.from(url);
      images.push({
        mimeType: data ? data[1] : null,
        sha256: createHash('sha256').update(bytes).digest('hex'),
        bytes: data ? bytes.length : 0,
      });
    }
  }
  return images;
}

const TITLE_REQUEST = 'You name conversations.';

/** The deterministic answer to a title request: built from the `User:` line of its transcript. */
function titleReply(prompt: string): string {
  const user = /^User: (.*)$/m.exec(prompt)?.[1] ?? prompt;
  const words = user.split(/\s+/).filter(Boolean);
  const topics = [
    ...new Set(words.map((w) => w.toLowerCase().replace(/[^\p{L}\p{N}]/gu, ''))),
  ].filter((w) => w.length >= 4);
  return `Title: "${words.slice(0, 6).join(' ')}"\nTopics: ${topics.slice(0, 3).join(', ')}`;
}

const SUMMARY_REQUEST = 'Update the running summary';

/** The deterministic summary: the summary so far, then the user's new lines. */
function summaryReply(request: string): string {
  const [current = '', added = ''] = request.split('\n\nNew messages:\n');
  const kept = current
    .replace(/^Current summary:\n/, '')
    .split('\n')
    .filter((line) => line.trim() !== '' && line !== '(none yet)');
  const facts = added.split('\n').filter((line) => line.startsWith('user: '));
  return [...kept, ...facts].join('\n');
}

export function defaultReply(messages: ChatMessage[]): string {
  const system = messages.find((m) => m.role === 'system');
  if (system && textOf(system).startsWith(TITLE_REQUEST))
    return titleReply(textOf(messages.at(-1) ?? system));
  const first = messages[0];
  if (first?.role === 'system' && textOf(first).startsWith(SUMMARY_REQUEST))
    return summaryReply(messages[1] ? textOf(messages[1]) : '');
  const lastUser = [...messages].reverse().find((m) => m.role === 'user');
  const text = lastUser ? textOf(lastUser) : '';
  if (text.startsWith('/think')) return '<think>reasoning here</think>The answer.';
  const images = imagesOf(messages);
  // Only with images, so every reply without one stays as it was.
  const seen =
    images.length > 0 ? ` [images=${images.map((i) => i.sha256.slice(0, 12)).join(',')}]` : '';
  return `Echo: ${text} [messages=${messages.length}]${seen}`;
}

/** The names of the request's function tools, in order. */
function functionNames(body: ChatRequestBody): string[] {
  const tools = Array.isArray(body.tools) ? body.tools : [];
  return tools
    .filter((tool) => tool?.type === 'function' && typeof tool.function?.name === 'string')
    .map((tool) => tool.function!.name!);
}

/** The calls the rule at the top of this file makes for a request; none means text. */
function plannedToolCalls(body: ChatRequestBody, seq: number): FakeToolCall[] {
  const names = functionNames(body);
  const choice = body.tool_choice;
  const last = body.messages.at(-1);
  if (names.length === 0 || choice === 'none' || last?.role !== 'user') return [];
  const text = textOf(last);
  const named = (choice as { function?: { name?: unknown } } | null)?.function?.name;
  const mentioned = names.filter((name) =>
    new RegExp(
      `(^|[^A-Za-z0-9_-])${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[^A-Za-z0-9_-])`,
    ).test(text),
  );
  let chosen =
    typeof named === 'string'
      ? [named]
      : mentioned.length > 0
        ? mentioned
        : choice === 'required'
          ? names.slice(0, 1)
          : [];
  if (body.parallel_tool_calls === false) chosen = chosen.slice(0, 1);
  const found = firstJsonObject(text);
  return chosen.map((name, i) => {
    const tool = body.tools!.find((t) => t.function?.name === name);
    const args = found ?? instanceOf(tool?.function?.parameters) ?? {};
    return { id: `call_fake${seq}_${i}`, name, arguments: JSON.stringify(args) };
  });
}

/** The text reply: tool results, structured output, or the default reply. */
function replyText(body: ChatRequestBody): string {
  const { messages } = body;
  const results: string[] = [];
  for (let i = messages.length - 1; i >= 0 && messages[i].role === 'tool'; i--)
    results.unshift(textOf(messages[i]));
  if (results.length > 0) return `Tool results: ${results.join(' | ')}`;
  const format = body.response_format?.type;
  if (format !== 'json_object' && format !== 'json_schema') return defaultReply(messages);
  const lastUser = [...messages].reverse().find((m) => m.role === 'user');
  const found = lastUser ? firstJsonObject(textOf(lastUser)) : undefined;
  if (found) return JSON.stringify(found);
  if (format === 'json_schema')
    return JSON.stringify(instanceOf(body.response_format?.json_schema?.schema) ?? {});
  return JSON.stringify({ reply: defaultReply(messages) });
}

/** The first `{…}` in `text` that parses as a JSON object. */
export function firstJsonObject(text: string): Record<string, unknown> | undefined {
  for (let start = text.indexOf('{'); start >= 0; start = text.indexOf('{', start + 1)) {
    let depth = 0;
    let inString = false;
    for (let i = start; i < text.length; i++) {
      const c = text[i];
      if (inString) {
        if (c === '\\') i++;
        else if (c === '"') inString = false;
      } else if (c === '"') inString = true;
      else if (c === '{') depth++;
      else if (c === '}' && --depth === 0) {
        try {
          const value: unknown = JSON.parse(text.slice(start, i + 1));
          if (typeof value === 'object' && value !== null && !Array.isArray(value))
            return value as Record<string, unknown>;
        } catch {
          // not JSON from this brace: try the next one
        }
        break;
      }
    }
  }
  return undefined;
}

/** A value that fits a JSON Schema, built the simple way (see the top of this file). */
export function instanceOf(schema: unknown, depth = 0): unknown {
  if (typeof schema !== 'object' || schema === null || depth > 10) return undefined;
  const s = schema as Record<string, unknown>;
  if ('const' in s) return s.const;
  if (Array.isArray(s.enum) && s.enum.length > 0) return s.enum[0];
  if ('default' in s) return s.default;
  for (const key of ['anyOf', 'oneOf', 'allOf']) {
    const options = s[key];
    if (Array.isArray(options)) {
      const option = options.find((o) => (o as { type?: unknown })?.type !== 'null') ?? options[0];
      return instanceOf(option, depth + 1);
    }
  }
  const type = Array.isArray(s.type) ? s.type.find((t) => t !== 'null') : s.type;
  if (type === 'object' || (type === undefined && typeof s.properties === 'object')) {
    const properties = (s.properties ?? {}) as Record<string, unknown>;
    return Object.fromEntries(
      Object.entries(properties).map(([key, value]) => [key, instanceOf(value, depth + 1) ?? null]),
    );
  }
  if (type === 'array') {
    const min = typeof s.minItems === 'number' ? s.minItems : 0;
    return Array.from({ length: min }, () => instanceOf(s.items, depth + 1) ?? null);
  }
  if (type === 'string') return 'text';
  if (type === 'number' || type === 'integer') return typeof s.minimum === 'number' ? s.minimum : 0;
  if (type === 'boolean') return true;
  if (type === 'null') return null;
  return undefined;
}

/** A call's arguments in three pieces (fewer when short), as a model streams them. */
function thirds(text: string): string[] {
  const size = Math.max(1, Math.ceil(text.length / 3));
  const pieces: string[] = [];
  for (let i = 0; i < text.length; i += size) pieces.push(text.slice(i, i + size));
  return pieces;
}

/** Word pieces keeping leading whitespace, so `pieces.join('') === text`. */
export function splitPieces(text: string): string[] {
  return text.match(/\s*\S+|\s+$/g) ?? [];
}

function computeUsage(messages: ChatMessage[], completionTokens: number): Usage {
  const promptTokens = messages.reduce((sum, m) => sum + (textOf(m).match(/\S+/g)?.length ?? 0), 0);
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
  };
}

function settledOrAborted(promise: Promise<unknown>, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const gone = (): void => reject(new Error('the client went away'));
    if (signal.aborted) return gone();
    signal.addEventListener('abort', gone, { once: true });
    promise.then(
      () => resolve(),
      () => resolve(),
    );
  });
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

async function sendRaw(
  res: ServerResponse,
  stream: boolean,
  writes: Uint8Array[],
  ending: 'end' | 'close' | 'reset',
): Promise<void> {
  res.writeHead(200, {
    'Content-Type': stream ? 'text/event-stream' : 'application/json',
    ...(stream && { 'Cache-Control': 'no-cache' }),
  });
  res.flushHeaders();
  for (const bytes of writes) {
    if (res.destroyed) return;
    // A write to a response the client closed fails: the handler ends there.
    await new Promise<void>((resolve, reject) =>
      res.write(bytes, (err) => (err ? reject(err) : resolve())),
    );
  }
  if (ending === 'end') res.end();
  else if (ending === 'reset') res.socket?.resetAndDestroy();
  else res.socket?.destroy();
}

function writeEvent(res: ServerResponse, data: string): Promise<void> {
  if (res.destroyed) return Promise.reject(new Error('response closed'));
  // Waiting for the flush makes a following 'drop' deliver every chunk written before it.
  return new Promise((resolve, reject) =>
    res.write(`data: ${data}\n\n`, (err) => (err ? reject(err) : resolve())),
  );
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res
    .writeHead(status, { 'Content-Type': 'application/json', ...headers })
    .end(JSON.stringify(body));
}

function sendError(
  res: ServerResponse,
  status: number,
  message: string,
  type: string,
  code: string | null,
  param: string | null = null,
): void {
  sendJson(res, status, { error: { message, type, param, code } });
}
