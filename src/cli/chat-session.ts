import type { ApiClient } from './api-client';
import type { Conversation } from './api-types';
import { ApiError, CliError, describeError, INTERRUPTED_EXIT_CODE } from './errors';
import { printJson, stderr, stdout } from './output';
import { streamTurn, type TurnResult } from './turn-stream';

export interface SessionOptions {
  conversationId?: string;
  model?: string;
  json: boolean;
}

/**
 * One reply in flight. Ctrl-C asks the server to cancel it (the partial reply is stored
 * `cancelled` and the stream ends with turn_cancelled); a second Ctrl-C stops waiting.
 */
class RunningReply {
  readonly abort = new AbortController();
  interrupted = false;
  private started = false;
  private cancelWanted = false;

  constructor(
    private readonly client: ApiClient,
    private readonly conversationId: string,
  ) {}

  /** The first call asks for a cancel, the second stops waiting; true on the first. */
  interrupt(): boolean {
    if (this.interrupted) {
      this.abort.abort();
      return false;
    }
    this.interrupted = true;
    // Before message.created the server may not have claimed the turn yet: cancel would 404.
    if (this.started) this.cancel();
    else this.cancelWanted = true;
    return true;
  }

  markStarted(): void {
    this.started = true;
    if (this.cancelWanted) this.cancel();
  }

  private cancel(): void {
    this.client.post(`/conversations/${this.conversationId}/cancel`).catch((error: unknown) => {
      // The reply finished meanwhile: nothing left to cancel, the stream ends normally.
      if (error instanceof ApiError && error.code === 'no_active_generation') return;
      stderr(`${describeError(error)}\n`);
    });
  }
}

/** Holds one conversation (created on the first message when none is given). */
export class ChatSession {
  private conversationId?: string;
  private running?: { reply: RunningReply; printer: ReplyPrinter };

  constructor(
    private readonly client: ApiClient,
    private readonly options: SessionOptions,
  ) {
    this.conversationId = options.conversationId;
  }

  /** Fails early, with the server's 404, on a conversation that does not exist. */
  async check(): Promise<void> {
    if (this.conversationId) await this.client.get(`/conversations/${this.conversationId}`);
  }

  /** Sends one message; the reply is printed as it streams (or as JSON once complete). */
  async send(message: string): Promise<TurnResult> {
    const conversationId = await this.conversation();
    const reply = new RunningReply(this.client, conversationId);
    const printer = new ReplyPrinter(this.options.json);
    this.running = { reply, printer };
    // A new conversation was created with --model already; an existing one gets it per turn.
    const model = this.options.conversationId ? this.options.model : undefined;
    try {
      const result = await streamTurn(
        this.client,
        conversationId,
        { message, model },
        { onCreated: () => reply.markStarted(), onDelta: (text) => printer.write(text) },
        reply.abort.signal,
      );
      printer.end();
      if (this.options.json) printJson(result, true);
      return result;
    } catch (error) {
      printer.end();
      throw toInterruptedError(error, reply);
    } finally {
      this.running = undefined;
    }
  }

  /** Ctrl-C while a reply runs; false when none does. */
  interrupt(): boolean {
    if (!this.running) return false;
    // What streams in until the cancel lands is stored with the reply, not printed.
    this.running.printer.stop();
    if (this.running.reply.interrupt() && !this.options.json)
      stderr('[cancelling… press Ctrl-C again to stop waiting]\n');
    return true;
  }

  private async conversation(): Promise<string> {
    if (this.conversationId) return this.conversationId;
    const body = this.options.model ? { model: this.options.model } : {};
    const created = await this.client.post<Conversation>('/conversations', body);
    this.conversationId = created.id;
    if (!this.options.json) stderr(`conversation ${created.id}\n`);
    return created.id;
  }
}

/** Streams answer text to stdout and leaves the cursor on a fresh line. */
class ReplyPrinter {
  private lastChar = '\n';

  constructor(private silent: boolean) {}

  write(text: string): void {
    if (this.silent || text === '') return;
    stdout(text);
    this.lastChar = text.at(-1) ?? this.lastChar;
  }

  end(): void {
    if (this.lastChar !== '\n') stdout('\n');
    this.lastChar = '\n';
  }

  stop(): void {
    this.end();
    this.silent = true;
  }
}

function toInterruptedError(error: unknown, reply: RunningReply): unknown {
  if (!reply.interrupted) return error;
  if (error instanceof ApiError && error.code === 'turn_cancelled')
    return new ApiError(error.code, error.message, error.status, error.body, INTERRUPTED_EXIT_CODE);
  if (reply.abort.signal.aborted) {
    return new CliError(
      'stopped waiting; the server was asked to cancel the reply',
      INTERRUPTED_EXIT_CODE,
    );
  }
  return error;
}
