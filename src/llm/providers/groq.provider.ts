import Groq, { APIConnectionError, APIConnectionTimeoutError, APIError } from 'groq-sdk';

import { redactUrl } from '../../common/text/redact-url';
import type {
  ChatBody,
  SdkCallOptions,
  SdkCompletion,
  SdkErrorClasses,
} from './chat-completions.provider';
import { ChatCompletionsProvider } from './chat-completions.provider';
import { cappedKeepAliveFetch } from './keep-alive-fetch';
import type { ResolvedProvider } from '../llm-setup';

/** Groq Cloud through groq-sdk (its base URL is the origin: the SDK appends /openai/v1). */
export class GroqProvider extends ChatCompletionsProvider {
  readonly name: string;
  readonly label: string;
  readonly baseUrl: string;
  readonly configured: boolean;
  readonly configHint: string;
  readonly modelHint = "point the alias's upstream model at one of them (MODELS_FILE)";
  readonly noModelHint = "name the alias's upstream model";
  readonly probe: boolean;
  protected readonly unreachableHint: string;
  protected readonly authHint: string;
  protected readonly wrongUrlHint: string;
  protected readonly errors: SdkErrorClasses = {
    APIError,
    APIConnectionError,
    APIConnectionTimeoutError,
  };
  private readonly client: Groq;

  constructor(provider: ResolvedProvider, timeoutMs: number, maxBodyBytes: number) {
    super();
    const keyVariable = provider.apiKeyEnv ?? 'GROQ_API_KEY';
    const urlSetting = provider.baseUrlEnv ?? `the base URL of provider "${provider.name}"`;
    this.name = provider.name;
    this.label = provider.label;
    this.baseUrl = redactUrl(provider.baseUrl);
    this.probe = provider.probe;
    this.configured = Boolean(provider.apiKey);
    this.configHint = `set ${keyVariable}${provider.keyHint ? ` to ${provider.keyHint}` : ''}`;
    this.unreachableHint = `check the network or ${urlSetting}`;
    this.authHint = `check ${keyVariable}`;
    this.wrongUrlHint = `${urlSetting} is the origin, without /openai/v1`;
    // Retries and timeouts are ours (LlmService), so the SDK makes exactly one attempt.
    this.client = new Groq({
      apiKey: provider.apiKey ?? 'unset',
      baseURL: provider.baseUrl,
      defaultHeaders: provider.headers,
      maxRetries: 0,
      fetch: cappedKeepAliveFetch(maxBodyBytes),
      timeout: timeoutMs + 1000,
    });
  }

  protected createCompletion(body: ChatBody, options: SdkCallOptions): Promise<SdkCompletion> {
    return this.client.chat.completions.create({ ...body, stream: false }, options);
  }

  protected openStream(body: ChatBody, options: SdkCallOptions): Promise<Response> {
    return this.client.chat.completions.create({ ...body, stream: true }, options).asResponse();
  }

  protected async fetchModels(signal: AbortSignal): Promise<string[]> {
    const page = await this.client.models.list({ signal });
    return page.data.map((model) => model.id);
  }
}
