import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';

import { redactUrl } from '../../common/text/redact-url';
import type {
  ChatBody,
  SdkChunk,
  SdkCompletion,
  SdkErrorClasses,
} from './chat-completions.provider';
import { ChatCompletionsProvider } from './chat-completions.provider';
import { keepAliveFetch } from './keep-alive-fetch';

export interface OpenAiCompatibleProviderOptions {
  name: string;
  label: string;
  /** Base URL including /v1, e.g. http://localhost:1234/v1 */
  baseUrl: string;
  apiKey?: string;
  timeoutMs: number;
  /** The variable that sets baseUrl, named in error messages. */
  baseUrlVariable: string;
  /** The variable that sets the default alias's model, named in error messages. */
  modelVariable: string;
}

/** Any OpenAI-compatible server (LM Studio, Ollama, llama.cpp, vLLM) through the openai SDK. */
export class OpenAiCompatibleProvider extends ChatCompletionsProvider {
  readonly name: string;
  readonly label: string;
  readonly baseUrl: string;
  readonly configured = true;
  readonly configHint = '';
  readonly modelHint: string;
  protected readonly unreachableHint: string;
  protected readonly authHint: string;
  protected readonly wrongUrlHint: string;
  protected readonly errors: SdkErrorClasses = {
    APIError,
    APIConnectionError,
    APIConnectionTimeoutError,
  };
  private readonly client: OpenAI;

  constructor(options: OpenAiCompatibleProviderOptions) {
    super();
    this.name = options.name;
    this.label = options.label;
    this.baseUrl = redactUrl(options.baseUrl);
    this.unreachableHint = `start its local server or set ${options.baseUrlVariable}`;
    this.authHint = `check the server's API key settings`;
    this.modelHint = `load it, or set ${options.modelVariable} (or the alias's upstream model) to one of them`;
    const base = options.baseUrl.replace(/\/+$/, '');
    this.wrongUrlHint = base.endsWith('/v1')
      ? `check ${options.baseUrlVariable}`
      : `${options.baseUrlVariable} probably lacks /v1: try ${base}/v1`;
    // Local servers ignore the key, but the SDK insists on one.
    this.client = new OpenAI({
      apiKey: options.apiKey ?? 'not-needed',
      baseURL: options.baseUrl,
      maxRetries: 0,
      fetch: keepAliveFetch,
      timeout: options.timeoutMs + 1000,
    });
  }

  protected createCompletion(body: ChatBody, signal: AbortSignal): Promise<SdkCompletion> {
    return this.client.chat.completions.create({ ...body, stream: false }, { signal });
  }

  protected createStream(body: ChatBody, signal: AbortSignal): Promise<AsyncIterable<SdkChunk>> {
    return this.client.chat.completions.create(
      { ...body, stream: true, stream_options: { include_usage: true } },
      { signal },
    );
  }

  protected async fetchModels(signal: AbortSignal): Promise<string[]> {
    const page = await this.client.models.list({ signal });
    return page.data.map((model) => model.id);
  }
}
