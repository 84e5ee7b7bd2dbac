/**
 * A tiny OpenAI-compatible upstream whose streamed chunks carry the moment they were sent:
 * each content chunk is ` @<ns>`, where <ns> is process.hrtime.bigint() (CLOCK_MONOTONIC,
 * shared by every process on the machine) taken just before the write. A client that reads
 * the same clock when the delta arrives gets the chunk → delta delay, whatever sits between.
 *
 * The last user message steers it: `stamp chunks=<n> delay=<ms>` streams n chunks, one every
 * `delay` ms (defaults 20 and 5). With `gate=<name>` it streams on, a chunk every `delay` ms,
 * until `POST /gates/<name>/open` (so many streams can be held open together for as long as
 * it takes to open them all); `GET /aborts/<name>` tells when that stream's client went away
 * before its end (the same clock), to time a cancel. Non-streaming requests get a short
 * fixed reply.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

interface ChatBody {
  model?: string;
  stream?: boolean;
  stream_options?: { include_usage?: boolean } | null;
  messages?: { role?: string; content?: unknown }[];
}

export interface StampPlan {
  chunks: number;
  delayMs: number;
  gate?: string;
}

export function stampMessage(plan: StampPlan): string {
  return `stamp chunks=${plan.chunks} delay=${plan.delayMs}${plan.gate ? ` gate=${plan.gate}` : ''}`;
}

function planOf(body: ChatBody): StampPlan {
  const lastUser = [...(body.messages ?? [])].reverse().find((m) => m.role === 'user');
  const text = typeof lastUser?.content === 'string' ? lastUser.content : '';
  const chunks = /chunks=(\d+)/.exec(text);
  const delay = /delay=(\d+)/.exec(text);
  const gate = /gate=([\w-]+)/.exec(text);
  return {
    chunks: chunks ? Number(chunks[1]) : 20,
    delayMs: delay ? Number(delay[1]) : 5,
    gate: gate?.[1],
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

export class StampUpstream {
  private server?: Server;
  private seq = 0;
  private readonly openGates = new Set<string>();
  /** When a gated stream's client went away before its end (hrtime ns), by gate. */
  private readonly aborts = new Map<string, bigint>();

  async start(port = 0, host = '127.0.0.1'): Promise<string> {
    const server = createServer((req, res) => void this.handle(req, res));
    this.server = server;
    await new Promise<void>((resolve) => server.listen(port, host, resolve));
    return `http://${host}:${(server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    const raw = await readBody(req);
    if (req.method === 'GET' && /\/v1\/models$/.test(path)) {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ object: 'list', data: [{ id: 'fake-model', object: 'model' }] }));
      return;
    }
    const gate = /^\/gates\/([\w-]+)\/open$/.exec(path);
    if (req.method === 'POST' && gate) {
      this.openGates.add(gate[1]);
      res.writeHead(204).end();
      return;
    }
    const aborted = /^\/aborts\/([\w-]+)$/.exec(path);
    if (req.method === 'GET' && aborted) {
      const ns = this.aborts.get(aborted[1]);
      res.writeHead(ns === undefined ? 404 : 200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ ns: ns?.toString() ?? null }));
      return;
    }
    if (req.method !== 'POST' || !/\/v1\/chat\/completions$/.test(path)) {
      res.writeHead(404, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'not found', type: 'invalid_request_error' } }));
      return;
    }
    const body = JSON.parse(raw) as ChatBody;
    const base = {
      id: `chatcmpl-stamp${++this.seq}`,
      created: Math.floor(Date.now() / 1000),
      model: body.model ?? 'fake-model',
    };
    if (body.stream) await this.stream(res, body, base);
    else wholeReply(res, base);
  }

  /** Streams the plan's stamped chunks (held open while its gate is shut), then stop and usage. */
  private async stream(res: ServerResponse, body: ChatBody, base: ReplyBase): Promise<void> {
    const plan = planOf(body);
    const abort = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished && plan.gate) this.aborts.set(plan.gate, process.hrtime.bigint());
      abort.abort();
    });
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
    res.flushHeaders();
    const chunk = (delta: object, finish: string | null): string =>
      `data: ${JSON.stringify({
        ...base,
        object: 'chat.completion.chunk',
        choices: [{ index: 0, delta, finish_reason: finish }],
      })}\n\n`;
    try {
      res.write(chunk({ role: 'assistant', content: '' }, null));
      const gate = plan.gate;
      for (let i = 0; i < plan.chunks || (gate && !this.openGates.has(gate)); i++) {
        await sleep(plan.delayMs, undefined, { signal: abort.signal });
        res.write(chunk({ content: ` @${process.hrtime.bigint()}` }, null));
      }
      res.write(chunk({}, 'stop'));
      if (body.stream_options?.include_usage) {
        const usage = { prompt_tokens: 1, completion_tokens: plan.chunks };
        res.write(
          `data: ${JSON.stringify({
            ...base,
            object: 'chat.completion.chunk',
            choices: [],
            usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
          })}\n\n`,
        );
      }
      res.end('data: [DONE]\n\n');
    } catch {
      if (!res.destroyed) res.destroy();
    }
  }
}

/** The fields every completion (or chunk) of one reply shares. */
interface ReplyBase {
  id: string;
  created: number;
  model: string;
}

function wholeReply(res: ServerResponse, base: ReplyBase): void {
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.end(
    JSON.stringify({
      ...base,
      object: 'chat.completion',
      choices: [
        { index: 0, message: { role: 'assistant', content: 'stamped' }, finish_reason: 'stop' },
      ],
      usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
    }),
  );
}
