import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';

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

/**
 * Any OpenAI-compatible API through the openai SDK: local servers (LM Studio, Ollama,
 * llama.cpp, vLLM) and clouds (OpenAI, Fireworks, OpenRouter, Anthropic's /v1, …).
 */
export class OpenAiCompatibleProvider extends ChatCompletionsProvider {
  readonly name: string;
  readonly label: string;
  readonly baseUrl: string;
  readonly configured: boolean;
  readonly configHint: string;
  readonly modelHint: string;
  readonly noModelHint: string;
  readonly probe: boolean;
  protected readonly unreachableHint: string;
  protected readonly authHint: string;
  protected readonly wrongUrlHint: string;
  protected readonly errors: SdkErrorClasses = {
    APIError,
    APIConnectionError,
    APIConnectionTimeoutError,
  };
  private readonly client: OpenAI;

  constructor(provider: ResolvedProvider, timeoutMs: number, maxBodyBytes: number) {
    super();
    const { apiKeyEnv, baseUrlEnv, modelEnv } = provider;
    this.name = provider.name;
    this.label = provider.label;
    this.baseUrl = redactUrl(provider.baseUrl);
    this.probe = provider.probe;
    this.configured = !apiKeyEnv || Boolean(provider.apiKey);
    this.configHint = apiKeyEnv
      ? `set ${apiKeyEnv}${provider.keyHint ? ` to ${provider.keyHint}` : ''}`
      : '';
    const urlSetting = baseUrlEnv ?? `the base URL of provider "${provider.name}"`;
    this.unreachableHint = provider.probe
      ? `start its local server or set ${urlSetting}`
      : `check the network or ${urlSetting}`;
    this.authHint = apiKeyEnv ? `check ${apiKeyEnv}` : `check the server's API key settings`;
    const pick = modelEnv
      ? `${modelEnv} (or the alias's upstream model)`
      : "the alias's upstream model";
    this.modelHint = provider.probe
      ? `load it, or set ${pick} to one of them`
      : "point the alias's upstream model at one of them (MODELS_FILE)";
    this.noModelHint = `load one or set ${pick}`;
    const base = provider.baseUrl.replace(/\/+$/, '');
    this.wrongUrlHint = base.endsWith('/v1')
      ? `check ${urlSetting}`
      : `${urlSetting} probably lacks /v1: try ${base}/v1`;
    this.client = new OpenAI({
      // Local servers ignore the key, but the SDK insists on one.
      apiKey: provider.apiKey ?? 'not-needed',
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
    return this.client.chat.completions
      .create({ ...body, stream: true, stream_options: { include_usage: true } }, options)
      .asResponse();
  }

  protected async fetchModels(signal: AbortSignal): Promise<string[]> {
    const page = await this.client.models.list({ signal });
    return page.data.map((model) => model.id);
  }
}
