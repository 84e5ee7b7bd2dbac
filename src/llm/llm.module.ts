import { Module } from '@nestjs/common';

import { AppConfig } from '../config/app-config';
import { LlmService } from './llm.service';
import { LLM_PROVIDERS, LlmProvider } from './llm.types';
import { builtInAliases, ModelRegistry, readModelsFile } from './model-registry';
import { ModelsController } from './models.controller';
import { GroqProvider } from './providers/groq.provider';
import { OpenAiCompatibleProvider } from './providers/openai-compatible.provider';

/** Adding a provider: one adapter file and one entry here. */
function createProviders(config: AppConfig): LlmProvider[] {
  const timeoutMs = config.get('LLM_TIMEOUT_MS');
  return [
    new GroqProvider({
      apiKey: config.get('GROQ_API_KEY'),
      baseUrl: config.get('GROQ_BASE_URL'),
      timeoutMs,
    }),
    new OpenAiCompatibleProvider({
      name: 'lmstudio',
      label: 'LM Studio',
      baseUrl: config.get('LMSTUDIO_BASE_URL'),
      baseUrlVariable: 'LMSTUDIO_BASE_URL',
      modelVariable: 'LMSTUDIO_MODEL',
      timeoutMs,
    }),
  ];
}

function createRegistry(config: AppConfig, providers: LlmProvider[]): ModelRegistry {
  const file = config.get('MODELS_FILE');
  const byAlias = new Map(builtInAliases(config.get('LMSTUDIO_MODEL')).map((a) => [a.alias, a]));
  for (const alias of file ? readModelsFile(file) : []) byAlias.set(alias.alias, alias);
  const fallback = config.get('GROQ_API_KEY') ? 'groq/llama-3.3-70b' : 'lmstudio/default';
  return new ModelRegistry(
    [...byAlias.values()],
    providers.map((p) => p.name),
    config.get('DEFAULT_MODEL') ?? fallback,
  );
}

@Module({
  controllers: [ModelsController],
  providers: [
    { provide: LLM_PROVIDERS, useFactory: createProviders, inject: [AppConfig] },
    { provide: ModelRegistry, useFactory: createRegistry, inject: [AppConfig, LLM_PROVIDERS] },
    LlmService,
  ],
  exports: [LlmService],
})
export class LlmModule {}
