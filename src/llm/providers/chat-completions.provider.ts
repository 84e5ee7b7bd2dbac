import { Readable } from 'node:stream';

import { LlmException } from '../llm.errors';
import { parseRetryAfter } from '../llm.errors';
import type {
  ChatImage,
  ChatMessage,
  LlmChunk,
  LlmProvider,
  LlmRequest,
  LlmResult,
  LlmUsage,
  ResponseFormat,
  ToolCall,
  ToolChoice,
  ToolDefinition,
} from '../llm.types';
import { InlineData, sdkCallOptions } from './inline-data';
import { readSseEvents } from './sse-events';
import { readToolCalls, SdkToolCall, ToolCallAssembler } from './tool-calls';
import { toUsage } from './upstream-usage';

/** The parts of an OpenAI-style chat completion both SDKs return. */
export interface SdkCompletion {
  model: string;
  choices: {
    message: { content: string | null; tool_calls?: SdkToolCall[] | null };
    finish_reason: string | null;
  }[];
  usage?: SdkUsage | null;
}

export interface SdkChunk {
  model: string;
  choices: {
    delta: { content?: string | null; tool_calls?: SdkToolCall[] | null };
    finish_reason: string | null;
  }[];
  usage?: SdkUsage | null;
  /** Groq reports streaming usage here. */
  x_groq?: { usage?: SdkUsage | null } | null;
}

interface SdkUsage {
  prompt_tokens: number;
  completion_tokens: number;
}

/** What an adapter passes the SDK with a request. */
export type SdkCallOptions = ReturnType<typeof sdkCallOptions>;

/** A part of a user message with images (OpenAI's content parts). */
export type WirePart =
  { type: 'text'; text: string } | { type: 'image_url'; image_url: { url: string } };

/** A message as OpenAI's chat completions take it. */
export type WireMessage =
  | { role: 'system'; content: string; name?: string }
  | { role: 'user'; content: string | WirePart[]; name?: string }
  | {
      role: 'assistant';
      content: string | null;
      name?: string;
      tool_calls?: {
        id: string;
        type: 'function';
        function: { name: string; arguments: string };
      }[];
    }
  | { role: 'tool'; content: string; tool_call_id: string };

/**
 * An image as a data URL (base64 as given, or encoded from the bytes); with `inline`, its
 * base64 is a stand-in that the fetch fills in, unseen by JSON.stringify.
 */
function dataUrl(image: ChatImage, inline?: InlineData): string {
  const { data } = image;
  const base64 = inline
    ? inline.standIn(data)
    : typeof data === 'string'
      ? data
      : data.toString('base64');
  return `data:${image.mimeType};base64,${base64}`;
}

/** A user message's text and images as content parts: the text first, then each image. */
function userParts(content: string, images: ChatImage[], inline?: InlineData): WirePart[] {
  const parts: WirePart[] = content.length > 0 ? [{ type: 'text', text: content }] : [];
  for (const image of images)
    parts.push({ type: 'image_url', image_url: { url: dataUrl(image, inline) } });
  return parts;
}

export function toWire(message: ChatMessage, inline?: InlineData): WireMessage {
  const { role, content, name, toolCalls, toolCallId, images } = message;
  if (role === 'tool') return { role, content, tool_call_id: toolCallId ?? '' };
  if (role === 'user' && images?.length) {
    const parts = userParts(content, images, inline);
    return name === undefined ? { role, content: parts } : { role, content: parts, name };
  }
  if (role !== 'assistant' || !toolCalls?.length)
    return name === undefined ? { role, content } : { role, content, name };
  return {
    role,
    // OpenAI's own shape for a reply that only called tools.
    content: content.length > 0 ? content : null,
    tool_calls: toolCalls.map((call) => ({
      id: call.id,
      type: 'function',
      function: { name: call.name, arguments: call.arguments },
    })),
  };
}

/** A function tool as OpenAI's chat completions take it. */
export interface WireTool {
  type: 'function';
  function: ToolDefinition;
}

export type WireToolChoice =
  'auto' | 'none' | 'required' | { type: 'function'; function: { name: string } };

function toWireTool({ name, description, parameters, strict }: ToolDefinition): WireTool {
  return {
    type: 'function',
    function: {
      name,
      ...(description !== undefined && { description }),
      ...(parameters !== undefined && { parameters }),
      ...(strict !== undefined && { strict }),
    },
  };
}

function toWireToolChoice(choice: ToolChoice): WireToolChoice {
  return typeof choice === 'string'
    ? choice
    : { type: 'function', function: { name: choice.name } };
}

export interface ChatBody {
  model: string;
  messages: WireMessage[];
  temperature?: number;
  top_p?: number;
  max_tokens?: number;
  seed?: number;
  frequency_penalty?: number;
  presence_penalty?: number;
  stop?: string[];
  response_format?: ResponseFormat;
  tools?: WireTool[];
  tool_choice?: WireToolChoice;
  parallel_tool_calls?: boolean;
}

/** The error classes of a Stainless-generated SDK (openai and groq-sdk share the shape). */
export interface SdkErrorClasses {
  APIError: new (...args: never[]) => Error & { status?: number; headers?: unknown };
  APIConnectionError: new (...args: never[]) => Error;
  APIConnectionTimeoutError: new (...args: never[]) => Error;
}

function header(headers: unknown, name: string): string | undefined {
  if (!headers || typeof headers !== 'object') return undefined;
  // A Headers-like object (global or node-fetch's), else a plain record.
  const get = (headers as { get?: unknown }).get;
  if (typeof get === 'function') return (get.call(headers, name) as string | null) ?? undefined;
  const value = (headers as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
}

/**
 * What the upstream said, once. The SDKs start an error's message with its status ("429
 * Rate limit…"), which ours names already, and groq-sdk puts the whole JSON body there.
 */
function upstreamSaid(message: string, status: number): string {
  const text = message.startsWith(`${status} `)
    ? message.slice(String(status).length + 1)
    : message;
  try {
    const body = JSON.parse(text) as { error?: { message?: unknown }; message?: unknown };
    const said = body.error?.message ?? body.message;
    if (typeof said === 'string') return said;
  } catch {
    // not JSON: the text as it is
  }
  return text;
}

/**
 * The message of an error sent inside a stream, as the SDKs' APIError words it: the
 * error's own message, else the error as JSON.
 */
function streamedError(error: unknown): string {
  const message = (error as { message?: unknown } | null | undefined)?.message;
  if (message) return typeof message === 'string' ? message : JSON.stringify(message);
  return error ? JSON.stringify(error) : 'the stream sent an error';
}

/**
 * The streamed body as the provider fetch (keep-alive-fetch.ts) answers it: Node's own
 * stream, whatever the fetch Response type says.
 */
function nodeBody(response: Response): Readable {
  const body = response.body as unknown;
  if (body instanceof Readable) return body;
  throw new Error('the provider fetch answered a stream without a Node body');
}

/** Errors of a connection the server accepted and then closed or reset. */
const HANG_UPS = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);
/** The same, by message: the SDKs rebuild an error of another realm from its message alone. */
const HANG_UP_MESSAGE = /socket hang up|\bECONNRESET\b|\bEPIPE\b|other side closed/;

/**
 * Whether a connection error is the server hanging up on a request it had accepted (its
 * cause, the fetch error, says so) rather than not being reachable at all (refused, DNS).
 */
function hungUp(error: Error): boolean {
  // Duck-typed: Node's own errors need not be instances of this realm's Error.
  let cause = error.cause as { code?: unknown; message?: unknown; cause?: unknown } | undefined;
  for (let depth = 0; cause && typeof cause === 'object' && depth < 5; depth++) {
    if (typeof cause.code === 'string' && HANG_UPS.has(cause.code)) return true;
    if (typeof cause.message === 'string' && HANG_UP_MESSAGE.test(cause.message)) return true;
    cause = cause.cause as typeof cause;
  }
  return false;
}

/**
 * Shared behaviour of adapters over OpenAI-style chat-completion SDKs: request shaping,
 * response reading and, above all, translating SDK errors into our own codes.
 */
export abstract class ChatCompletionsProvider implements LlmProvider {
  abstract readonly name: string;
  abstract readonly label: string;
  abstract readonly baseUrl: string;
  abstract readonly configured: boolean;
  abstract readonly configHint: string;
  abstract readonly modelHint: string;
  abstract readonly noModelHint: string;
  abstract readonly probe: boolean;
  /** What to tell a user who cannot reach the server. */
  protected abstract readonly unreachableHint: string;
  protected abstract readonly authHint: string;
  /** What to tell a user whose server has no /models under the base URL. */
  protected abstract readonly wrongUrlHint: string;
  protected abstract readonly errors: SdkErrorClasses;

  protected abstract createCompletion(
    body: ChatBody,
    options: SdkCallOptions,
  ): Promise<SdkCompletion>;
  /**
   * The streamed request through the SDK (its headers, auth and error statuses), answered
   * with the response itself: its events are read here (readSseEvents), not by the SDK.
   */
  protected abstract openStream(body: ChatBody, options: SdkCallOptions): Promise<Response>;
  protected abstract fetchModels(signal: AbortSignal): Promise<string[]>;

  async complete(request: LlmRequest): Promise<LlmResult> {
    this.assertConfigured();
    try {
      const inline = new InlineData();
      const body = this.body(request, inline);
      const completion = await this.createCompletion(body, sdkCallOptions(request.signal, inline));
      const choice = completion.choices[0];
      const toolCalls = readToolCalls(this.label, choice?.message.tool_calls);
      return {
        content: choice?.message.content ?? '',
        upstreamModel: completion.model,
        finishReason: choice?.finish_reason ?? null,
        usage: toUsage(completion.usage),
        ...(toolCalls.length > 0 && { toolCalls }),
      };
    } catch (error) {
      throw this.translate(error, request.signal);
    }
  }

  async stream(request: LlmRequest, onChunk: (chunk: LlmChunk) => void): Promise<void> {
    this.assertConfigured();
    let upstreamModel = request.model;
    let finishReason: string | null = null;
    let usage: LlmUsage | null = null;
    const calls = new ToolCallAssembler(this.label);
    let toolCalls: ToolCall[];
    try {
      const response = await this.open(request);
      let done = false;
      await readSseEvents(nodeBody(response), ({ event, data }) => {
        // What the SDKs' Stream does: nothing after [DONE]; an error event or body throws.
        if (done) return;
        if (data.startsWith('[DONE]')) {
          done = true;
          return;
        }
        const chunk = JSON.parse(data) as SdkChunk & { error?: unknown };
        if (event === 'error' || chunk.error) throw new Error(streamedError(chunk.error));
        upstreamModel = chunk.model || upstreamModel;
        usage = toUsage(chunk.usage ?? chunk.x_groq?.usage) ?? usage;
        const choice = chunk.choices?.[0];
        if (choice?.finish_reason) finishReason = choice.finish_reason;
        const text = choice?.delta?.content;
        if (text) onChunk({ type: 'delta', text });
        const pieces = choice?.delta?.tool_calls;
        if (pieces) for (const piece of pieces) onChunk(calls.push(piece));
      });
      toolCalls = calls.finish();
    } catch (error) {
      throw this.translate(error, request.signal);
    }
    // An aborted body can end quietly too (the SDKs' Stream always did).
    if (request.signal.aborted) throw request.signal.reason;
    onChunk({
      type: 'done',
      upstreamModel,
      finishReason,
      usage,
      ...(toolCalls.length > 0 && { toolCalls }),
    });
  }

  /**
   * Sends the streamed request. Apart from `stream`, so that the reply's long wait holds the
   * response alone: a suspended async function keeps every register it used, and the
   * request body is the whole prompt in the wire's shape.
   */
  private open(request: LlmRequest): Promise<Response> {
    const inline = new InlineData();
    return this.openStream(this.body(request, inline), sdkCallOptions(request.signal, inline));
  }

  async listModels(signal: AbortSignal): Promise<string[]> {
    this.assertConfigured();
    try {
      return await this.fetchModels(signal);
    } catch (error) {
      // Every OpenAI-compatible server lists models: a 404 means the base URL is wrong.
      if (!signal.aborted && error instanceof this.errors.APIError && error.status === 404)
        throw new LlmException(
          'provider_unavailable',
          `${this.label} at ${this.baseUrl} answered 404 for /models: ${this.wrongUrlHint}`,
        );
      throw this.translate(error, signal);
    }
  }

  private assertConfigured(): void {
    if (!this.configured)
      throw new LlmException(
        'provider_not_configured',
        `${this.label} is not configured: ${this.configHint}`,
      );
  }

  private body(request: LlmRequest, inline: InlineData): ChatBody {
    const { temperature, topP, maxTokens, seed, frequencyPenalty, presencePenalty } =
      request.params;
    const { stop, responseFormat, tools, toolChoice, parallelToolCalls } = request;
    const offered = tools !== undefined && tools.length > 0;
    return {
      model: request.model,
      messages: request.messages.map((message) => toWire(message, inline)),
      ...(temperature !== undefined && { temperature }),
      ...(topP !== undefined && { top_p: topP }),
      ...(maxTokens !== undefined && { max_tokens: maxTokens }),
      ...(seed !== undefined && { seed }),
      ...(frequencyPenalty !== undefined && { frequency_penalty: frequencyPenalty }),
      ...(presencePenalty !== undefined && { presence_penalty: presencePenalty }),
      ...(stop !== undefined && stop.length > 0 && { stop }),
      ...(responseFormat && { response_format: responseFormat }),
      // Without tools, a tool_choice or parallel_tool_calls is an error to OpenAI: left out.
      ...(offered && { tools: tools.map(toWireTool) }),
      ...(offered && toolChoice !== undefined && { tool_choice: toWireToolChoice(toolChoice) }),
      ...(offered && parallelToolCalls !== undefined && { parallel_tool_calls: parallelToolCalls }),
    };
  }

  /** SDK error → LlmException. An abort we asked for passes through as its reason. */
  protected translate(error: unknown, signal: AbortSignal): unknown {
    if (signal.aborted) return signal.reason;
    if (error instanceof LlmException) return error;
    const { APIError, APIConnectionError, APIConnectionTimeoutError } = this.errors;
    if (error instanceof APIConnectionTimeoutError) {
      return new LlmException(
        'provider_timeout',
        `${this.label} at ${this.baseUrl} did not answer in time`,
      );
    }
    if (error instanceof APIConnectionError) {
      if (hungUp(error)) return this.brokeOff('closed the connection without answering');
      return new LlmException(
        'provider_unavailable',
        `Could not reach ${this.label} at ${this.baseUrl}: ${this.unreachableHint}`,
        { retryable: true },
      );
    }
    if (error instanceof APIError && error.status !== undefined) {
      return this.translateStatus(
        error.status,
        upstreamSaid(error.message, error.status),
        header(error.headers, 'retry-after'),
      );
    }
    // The SDKs read a whole reply's body after the headers: a cut there arrives as is.
    const detail = error instanceof Error ? error.message : String(error);
    return this.brokeOff(`failed mid-response (${detail})`);
  }

  /**
   * The server took the request, then broke: a server fault (502), not an unreachable one.
   * Retryable until the first streamed token (LlmService): nothing of it reached the client.
   */
  private brokeOff(what: string): LlmException {
    return new LlmException('provider_error', `${this.label} at ${this.baseUrl} ${what}`, {
      retryable: true,
    });
  }

  private translateStatus(
    status: number,
    upstreamMessage: string,
    retryAfter: string | undefined,
  ): LlmException {
    const said = `${this.label} answered ${status}: ${upstreamMessage}`;
    if (status === 401 || status === 403) {
      return new LlmException(
        'provider_auth_failed',
        `${this.label} refused the credentials (${status}): ${this.authHint}`,
      );
    }
    if (status === 404)
      return new LlmException(
        'provider_model_not_found',
        `${said}; check the alias's upstream model`,
      );
    if (status === 429) {
      // Groq's "request too large" is a 429 that can only fail again.
      if (/request too large/i.test(upstreamMessage))
        return new LlmException('provider_rejected_request', said);
      return new LlmException('provider_rate_limited', `${said}; try again later`, {
        retryable: true,
        retryAfterMs: parseRetryAfter(retryAfter),
      });
    }
    if (status === 400 || status === 413 || status === 422)
      return new LlmException('provider_rejected_request', said);
    if (status === 503)
      return new LlmException('provider_unavailable', `${said}; ${this.unreachableHint}`, {
        retryable: true,
      });
    return new LlmException('provider_error', said, {
      retryable: status >= 500 || status === 408 || status === 409,
      retryAfterMs: parseRetryAfter(retryAfter),
    });
  }
}
