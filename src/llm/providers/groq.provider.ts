import Groq, { APIConnectionError, APIConnectionTimeoutError, APIError } from 'groq-sdk';

import { redactUrl } from '../../common/text/redact-url';
import type {
  ChatBody,
  SdkChunk,
  SdkCompletion,
  SdkErrorClasses,
} from './chat-completions.provider';
import { ChatCompletionsProvider } from './chat-completions.provider';
import { keepAliveFetch } from './keep-alive-fetch';

export interface GroqProviderOptions {
  apiKey?: string;
  /** Origin of the API; the SDK appends /openai/v1. */
  baseUrl?: string;
  timeoutMs: number;
}

const DEFAULT_BASE_URL = 'https://api.groq.com';

/** Groq Cloud through groq-sdk. */
export class GroqProvider extends ChatCompletionsProvider {
  readonly name = 'groq';
  readonly label = 'Groq';
  readonly baseUrl: string;
  readonly configured: boolean;
  readonly configHint = 'set GROQ_API_KEY to a key from console.groq.com';
  readonly modelHint = "point the alias's upstream model at one of them (MODELS_FILE)";
  protected readonly unreachableHint = 'check the network or GROQ_BASE_URL';
  protected readonly authHint = 'check GROQ_API_KEY';
  protected readonly wrongUrlHint = 'GROQ_BASE_URL is the origin, without /openai/v1';
  protected readonly errors: SdkErrorClasses = {
    APIError,
    APIConnectionError,
    APIConnectionTimeoutError,
  };
  private readonly client: Groq;

  constructor(options: GroqProviderOptions) {
    super();
    const baseUrl = options.baseUrl ?? DEFAULT_BASE_URL;
    this.baseUrl = redactUrl(baseUrl);
    this.configured = Boolean(options.apiKey);
    // Retries and timeouts are ours (LlmService), so the SDK makes exactly one attempt.
    this.client = new Groq({
      apiKey: options.apiKey ?? 'unset',
      baseURL: baseUrl,
      maxRetries: 0,
      fetch: keepAliveFetch,
      timeout: options.timeoutMs + 1000,
    });
  }

  protected createCompletion(body: ChatBody, signal: AbortSignal): Promise<SdkCompletion> {
    return this.client.chat.completions.create({ ...body, stream: false }, { signal });
  }

  protected createStream(body: ChatBody, signal: AbortSignal): Promise<AsyncIterable<SdkChunk>> {
    return this.client.chat.completions.create({ ...body, stream: true }, { signal });
  }

  protected async fetchModels(signal: AbortSignal): Promise<string[]> {
    const page = await this.client.models.list({ signal });
    return page.data.map((model) => model.id);
  }
}
