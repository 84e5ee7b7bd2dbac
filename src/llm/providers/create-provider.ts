import type { ResolvedProvider } from '../llm-setup';
import type { LlmProvider } from '../llm.types';
import type { ProviderType } from '../provider-presets';
import { GroqProvider } from './groq.provider';
import { OpenAiCompatibleProvider } from './openai-compatible.provider';

/** One adapter per wire; a provider of a new wire registers its adapter here. */
const ADAPTERS: Record<
  ProviderType,
  new (provider: ResolvedProvider, timeoutMs: number, maxBodyBytes: number) => LlmProvider
> = {
  'openai-compatible': OpenAiCompatibleProvider,
  groq: GroqProvider,
};

/**
 * `maxBodyBytes` bounds a whole reply's body, read at once: past it the call fails as
 * provider_error instead of holding whatever the server sends.
 */
export function createProvider(
  provider: ResolvedProvider,
  timeoutMs: number,
  maxBodyBytes: number,
): LlmProvider {
  return new ADAPTERS[provider.type](provider, timeoutMs, maxBodyBytes);
}
