import type { ModelAlias } from './model-registry';

/** The wire a provider speaks: which adapter serves it (see createProvider). */
export const PROVIDER_TYPES = ['openai-compatible', 'groq'] as const;
export type ProviderType = (typeof PROVIDER_TYPES)[number];

/** A provider as configuration: a preset, or an entry of the models file's `providers`. */
export interface ProviderDefinition {
  /** Registry key, the part of an alias before the slash. */
  name: string;
  type: ProviderType;
  /** How users know it, for messages ("LM Studio"). */
  label: string;
  /** Where requests go; for `groq`, the origin (the SDK adds /openai/v1). */
  baseUrl: string;
  /** The variable that overrides baseUrl, named in messages. */
  baseUrlEnv?: string;
  /** The variable holding its API key; unset = a keyless (local) server. */
  apiKeyEnv?: string;
  /** Sent with every request (e.g. OpenRouter's HTTP-Referer). */
  headers?: Record<string, string>;
  /**
   * Whether it is asked what it serves (GET /models) to check aliases and fill in a
   * missing upstream model: worth it for a local server, not for a metered cloud.
   */
  probe: boolean;
  /** The variable that names the model of its built-in alias, named in messages. */
  modelEnv?: string;
  /** Where to get a key, for the message when it is missing. */
  keyHint?: string;
}

/** A shipped provider: its definition and the aliases it brings. */
export interface ProviderPreset extends ProviderDefinition {
  /** Built-in aliases; `variable` reads the environment (e.g. the model variable). */
  aliases?: (variable: (name: string) => string | undefined) => ModelAlias[];
  /** This alias is the default model when the provider is usable (first such preset wins). */
  defaultAlias?: string;
}

const cloud = (
  name: string,
  label: string,
  baseUrl: string,
  apiKeyEnv: string,
  keyHint: string,
  baseUrlEnv?: string,
): ProviderPreset => ({
  name,
  type: 'openai-compatible',
  label,
  baseUrl,
  apiKeyEnv,
  keyHint,
  baseUrlEnv,
  probe: false,
});

const local = (
  name: string,
  label: string,
  baseUrl: string,
  baseUrlEnv: string,
): ProviderPreset => ({
  name,
  type: 'openai-compatible',
  label,
  baseUrl,
  baseUrlEnv,
  probe: true,
});

/**
 * Groq's models all call tools; only some honour a `json_schema` response format (its
 * structured outputs: the gpt-oss and Llama 4 models), the others refuse it with a 400.
 */
const groqAlias = (alias: string, model: string, jsonSchema: boolean): ModelAlias => ({
  alias,
  provider: 'groq',
  model,
  contextWindow: 131_072,
  maxOutputTokens: 4096,
  params: {},
  fallbacks: [],
  tools: true,
  jsonSchema,
});

/**
 * Shipped providers, usable by name in an alias without a `providers` entry. Adding one is
 * one entry here, plus an adapter in src/llm/providers only when its wire differs.
 * The order of `defaultAlias` entries decides the default model.
 */
export const PROVIDER_PRESETS: readonly ProviderPreset[] = [
  {
    name: 'groq',
    type: 'groq',
    label: 'Groq',
    baseUrl: 'https://api.groq.com',
    baseUrlEnv: 'GROQ_BASE_URL',
    apiKeyEnv: 'GROQ_API_KEY',
    keyHint: 'a key from console.groq.com',
    probe: false,
    defaultAlias: 'groq/llama-3.3-70b',
    aliases: () => [
      groqAlias('groq/llama-3.3-70b', 'llama-3.3-70b-versatile', false),
      groqAlias('groq/llama-3.1-8b', 'llama-3.1-8b-instant', false),
      groqAlias('groq/gpt-oss-120b', 'openai/gpt-oss-120b', true),
      groqAlias('groq/qwen3-32b', 'qwen/qwen3-32b', false),
    ],
  },
  {
    ...local('lmstudio', 'LM Studio', 'http://localhost:1234/v1', 'LMSTUDIO_BASE_URL'),
    modelEnv: 'LMSTUDIO_MODEL',
    defaultAlias: 'lmstudio/default',
    // Local models are often loaded with a small context; override in MODELS_FILE.
    aliases: (variable) => [
      {
        alias: 'lmstudio/default',
        provider: 'lmstudio',
        model: variable('LMSTUDIO_MODEL') ?? null,
        contextWindow: 8192,
        maxOutputTokens: 1024,
        params: {},
        fallbacks: [],
        // LM Studio serves both (json_schema through its structured output); whether the
        // loaded model calls tools well is the model's business.
        tools: true,
        jsonSchema: true,
      },
    ],
  },
  local('ollama', 'Ollama', 'http://localhost:11434/v1', 'OLLAMA_BASE_URL'),
  local('vllm', 'vLLM', 'http://localhost:8000/v1', 'VLLM_BASE_URL'),
  cloud(
    'openai',
    'OpenAI',
    'https://api.openai.com/v1',
    'OPENAI_API_KEY',
    'a key from platform.openai.com',
    'OPENAI_BASE_URL',
  ),
  // Anthropic through its OpenAI-compatible endpoint; no @anthropic-ai/sdk adapter yet.
  cloud(
    'anthropic',
    'Anthropic',
    'https://api.anthropic.com/v1/',
    'ANTHROPIC_API_KEY',
    'a key from console.anthropic.com',
  ),
  cloud(
    'fireworks',
    'Fireworks',
    'https://api.fireworks.ai/inference/v1',
    'FIREWORKS_API_KEY',
    'a key from fireworks.ai',
  ),
  cloud(
    'openrouter',
    'OpenRouter',
    'https://openrouter.ai/api/v1',
    'OPENROUTER_API_KEY',
    'a key from openrouter.ai',
  ),
  cloud(
    'together',
    'Together',
    'https://api.together.xyz/v1',
    'TOGETHER_API_KEY',
    'a key from together.ai',
  ),
  cloud(
    'deepseek',
    'DeepSeek',
    'https://api.deepseek.com/v1',
    'DEEPSEEK_API_KEY',
    'a key from platform.deepseek.com',
  ),
  cloud(
    'mistral',
    'Mistral',
    'https://api.mistral.ai/v1',
    'MISTRAL_API_KEY',
    'a key from console.mistral.ai',
  ),
];
