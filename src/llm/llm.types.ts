/** Provider-neutral types: nothing from an SDK crosses this line. */

export type ChatRole = 'system' | 'user' | 'assistant' | 'tool';

/** A function the model asked to have called: `arguments` exactly as the model sent them. */
export interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

/**
 * An image a user message shows the model: its bytes (or their base64) and sniffed type.
 * Providers send it in their own shape (OpenAI: an `image_url` part with a data URL).
 */
export interface ChatImage {
  mimeType: string;
  data: Buffer | string;
  /** The hex sha256 of the bytes when already known (a stored file): saves hashing them again. */
  sha256?: string;
}

export interface ChatMessage {
  role: ChatRole;
  /** An assistant message that only called tools has an empty content (`null` upstream). */
  content: string;
  /** Who spoke (OpenAI's `name`); providers that take it get it, others drop it. */
  name?: string;
  /** assistant: the tools it called, in order. */
  toolCalls?: ToolCall[];
  /** tool: the call this message is the result of. */
  toolCallId?: string;
  /** user: images shown with the text, in order (only to aliases that can see). */
  images?: ChatImage[];
}

/** A function tool the model may call (OpenAI's `function` object, without the wrapper). */
export interface ToolDefinition {
  name: string;
  description?: string;
  /** A JSON Schema object; passed through as given. */
  parameters?: Record<string, unknown>;
  strict?: boolean;
}

/** Whether and which tool the model must call: OpenAI's `tool_choice`, one function by name. */
export type ToolChoice = 'auto' | 'none' | 'required' | { name: string };

export interface GenerationParams {
  temperature?: number;
  topP?: number;
  maxTokens?: number;
  seed?: number;
  /** -2 to 2: OpenAI's penalties on repeated tokens; OpenAI-compatible servers take them. */
  frequencyPenalty?: number;
  presencePenalty?: number;
}

/**
 * Asks the provider for a JSON reply (`json_object`), or one following a JSON Schema
 * (`json_schema`), where it supports that; OpenAI's shape. Plain text is the absence of one.
 */
export type ResponseFormat =
  { type: 'json_object' } | { type: 'json_schema'; json_schema: JsonSchemaFormat };

export interface JsonSchemaFormat {
  name: string;
  description?: string;
  schema: Record<string, unknown>;
  strict?: boolean;
}

export interface LlmRequest {
  /** Upstream model id, already resolved from the alias. */
  model: string;
  messages: ChatMessage[];
  params: GenerationParams;
  responseFormat?: ResponseFormat;
  /** Sequences at which the provider stops generating. */
  stop?: string[];
  /** Tools the model may call; none when absent or empty. */
  tools?: ToolDefinition[];
  toolChoice?: ToolChoice;
  parallelToolCalls?: boolean;
  signal: AbortSignal;
}

export interface LlmUsage {
  promptTokens: number;
  completionTokens: number;
}

export interface LlmResult {
  content: string;
  upstreamModel: string;
  finishReason: string | null;
  usage: LlmUsage | null;
  /** The tools the model called (finish reason `tool_calls`); absent or empty when none. */
  toolCalls?: ToolCall[];
}

export interface LlmDone {
  type: 'done';
  upstreamModel: string;
  finishReason: string | null;
  usage: LlmUsage | null;
  /** Every tool call of the reply, assembled from its deltas; absent or empty when none. */
  toolCalls?: ToolCall[];
}

/**
 * A piece of a streamed tool call, as the provider sent it: the first piece of call `index`
 * carries its id and name, later ones more of its arguments.
 */
export interface ToolCallDelta {
  type: 'tool_call';
  index: number;
  id?: string;
  name?: string;
  arguments: string;
}

export type LlmChunk = { type: 'delta'; text: string } | ToolCallDelta | LlmDone;

/** An alias given up for the next one in its fallbacks, and why. */
export interface TriedAlias {
  alias: string;
  errorCode: string;
}

export interface LlmProvider {
  /** Registry key, the part of an alias before the slash (`groq`, `lmstudio`). */
  readonly name: string;
  /** How users know it, for messages ("LM Studio"). */
  readonly label: string;
  /**
   * Where requests go, as shown in errors so users can check it: credentials and secret
   * query values redacted (redactUrl). Only the SDK client holds the URL as configured.
   */
  readonly baseUrl: string;
  /** Whether it can be called at all (e.g. an API key is present). */
  readonly configured: boolean;
  /** Why not, when it is not configured, in words a user can act on. */
  readonly configHint: string;
  /** How to pick a model it has, when an alias names one it does not list. */
  readonly modelHint?: string;
  /**
   * Whether it is asked what it serves (GET /models) to check an alias's model, fill in a
   * missing one, and answer health checks: a local server is, a metered cloud API is not
   * (a key present is what can be known cheaply).
   */
  readonly probe: boolean;
  /** What to do when it serves no model and the alias names none. */
  readonly noModelHint: string;
  complete(request: LlmRequest): Promise<LlmResult>;
  /**
   * Streams the reply, handing each chunk to `onChunk` in the tick it arrives; settles when
   * the reply has ended (after its `done` chunk) or failed. A callback rather than an async
   * iterable: a layer of async generators per open stream costs memory and a few promise
   * hops per chunk between the upstream and the client.
   */
  stream(request: LlmRequest, onChunk: (chunk: LlmChunk) => void): Promise<void>;
  listModels(signal: AbortSignal): Promise<string[]>;
}

export const LLM_PROVIDERS = Symbol('LLM_PROVIDERS');
