import { readFileSync } from 'node:fs';

import { Module } from '@nestjs/common';

import { AppConfig } from '../config/app-config';
import { LlmSetup, resolveLlmSetup } from './llm-setup';
import { LlmService } from './llm.service';
import { LLM_PROVIDERS, LlmProvider } from './llm.types';
import { ModelRegistry } from './model-registry';
import { ModelsController } from './models.controller';
import { createProvider } from './providers/create-provider';
import { ResponseCache } from './response-cache';
import { ResponseCacheRepository } from './response-cache.repository';
import { RunTelemetry } from './telemetry/run-telemetry.service';

const LLM_SETUP = Symbol('LLM_SETUP');

function readText(path: string): string | Error {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

/**
 * Presets and MODELS_FILE, checked at start-up (main.ts runs it before anything starts):
 * every problem stops the service, all named in one ConfigError.
 */
export function loadLlmSetup(config: Pick<AppConfig, 'get' | 'variable'>): LlmSetup {
  const path = config.get('MODELS_FILE');
  return resolveLlmSetup({
    modelsFile: path ? { path, text: readText(path) } : undefined,
    variable: (name) => config.variable(name),
    defaultModel: config.get('DEFAULT_MODEL'),
  });
}

/**
 * A whole reply of REPLY_MAX_CHARS characters, each escaped as JSON's longest (`\u0000`,
 * 6 bytes), with room for reasoning and the envelope: a body past that holds text the
 * turn would cut anyway.
 */
const maxBodyBytes = (replyMaxChars: number): number => 8 * replyMaxChars + 1_000_000;

function createProviders(config: AppConfig, setup: LlmSetup): LlmProvider[] {
  const timeoutMs = config.get('LLM_TIMEOUT_MS');
  const bodyBytes = maxBodyBytes(config.get('REPLY_MAX_CHARS'));
  return setup.providers.map((p) => createProvider(p, timeoutMs, bodyBytes));
}

@Module({
  controllers: [ModelsController],
  providers: [
    { provide: LLM_SETUP, useFactory: loadLlmSetup, inject: [AppConfig] },
    { provide: LLM_PROVIDERS, useFactory: createProviders, inject: [AppConfig, LLM_SETUP] },
    {
      provide: ModelRegistry,
      useFactory: (setup: LlmSetup) => new ModelRegistry(setup.aliases, setup.defaultAlias),
      inject: [LLM_SETUP],
    },
    LlmService,
    RunTelemetry,
    ResponseCache,
    ResponseCacheRepository,
  ],
  exports: [LlmService, ResponseCache],
})
export class LlmModule {}
