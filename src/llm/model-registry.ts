import { readFileSync } from 'node:fs';

import { plainToInstance, Type } from 'class-transformer';
import {
  IsInt,
  IsOptional,
  IsString,
  Max,
  Min,
  MinLength,
  ValidateNested,
  validateSync,
} from 'class-validator';

import { IsModelAlias } from './model-alias';

import { ConfigError } from '../config/env';
import { GenerationParams } from './llm.types';

export interface ModelAlias {
  alias: string;
  /** Registry key of the provider adapter. */
  provider: string;
  /** Upstream model id; null means "the first model the server lists". */
  model: string | null;
  contextWindow: number;
  /** Reply budget when a turn sets no maxTokens. */
  maxOutputTokens: number;
  params: GenerationParams;
}

class AliasParamsDefinition implements GenerationParams {
  @IsOptional() @Min(0) @Max(2) temperature?: number;
  @IsOptional() @Min(0) @Max(1) topP?: number;
  @IsOptional() @IsInt() @Min(1) maxTokens?: number;
  @IsOptional() @IsInt() seed?: number;
}

class AliasDefinition {
  @IsModelAlias() alias!: string;
  @IsString() @MinLength(1) provider!: string;
  @IsOptional() @IsString() @MinLength(1) model?: string;
  @IsInt() @Min(256) contextWindow!: number;
  @IsOptional() @IsInt() @Min(1) maxOutputTokens?: number;
  @IsOptional() @ValidateNested() @Type(() => AliasParamsDefinition) params?: AliasParamsDefinition;
}

class ModelsFile {
  @ValidateNested({ each: true }) @Type(() => AliasDefinition) models!: AliasDefinition[];
}

/** Shipped aliases; MODELS_FILE adds to them or replaces them by alias. */
export function builtInAliases(lmstudioModel: string | undefined): ModelAlias[] {
  const groq = (alias: string, model: string): ModelAlias => ({
    alias,
    provider: 'groq',
    model,
    contextWindow: 131_072,
    maxOutputTokens: 4096,
    params: {},
  });
  return [
    groq('groq/llama-3.3-70b', 'llama-3.3-70b-versatile'),
    groq('groq/llama-3.1-8b', 'llama-3.1-8b-instant'),
    groq('groq/gpt-oss-120b', 'openai/gpt-oss-120b'),
    groq('groq/qwen3-32b', 'qwen/qwen3-32b'),
    // Local models are often loaded with a small context; override in MODELS_FILE.
    {
      alias: 'lmstudio/default',
      provider: 'lmstudio',
      model: lmstudioModel ?? null,
      contextWindow: 8192,
      maxOutputTokens: 1024,
      params: {},
    },
  ];
}

/** Reads and validates MODELS_FILE: `{ "models": [{ alias, provider, model?, contextWindow, maxOutputTokens?, params? }] }`. */
export function readModelsFile(path: string): ModelAlias[] {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(
      `MODELS_FILE=${path}: cannot read it as JSON (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(`MODELS_FILE=${path}: expected a JSON object {"models":[…]}`);
  }
  const file = plainToInstance(ModelsFile, raw);
  const errors = validateSync(file, { forbidUnknownValues: true });
  if (errors.length > 0 || !Array.isArray(file.models)) {
    throw new ConfigError(
      `MODELS_FILE=${path}: expected {"models":[{alias, provider, model?, contextWindow, maxOutputTokens?, params?}]}; ${errors.map((e) => e.toString()).join(' ')}`,
    );
  }
  return file.models.map((d) => ({
    alias: d.alias,
    provider: d.provider,
    model: d.model ?? null,
    contextWindow: d.contextWindow,
    maxOutputTokens: d.maxOutputTokens ?? Math.min(4096, Math.floor(d.contextWindow / 4)),
    params: { ...d.params },
  }));
}

/** Alias → provider, upstream model, context window and defaults. */
export class ModelRegistry {
  private readonly aliases = new Map<string, ModelAlias>();

  constructor(
    aliases: ModelAlias[],
    providerNames: string[],
    readonly defaultAlias: string,
  ) {
    for (const alias of aliases) {
      if (!providerNames.includes(alias.provider)) {
        throw new ConfigError(
          `Model alias ${alias.alias} names provider "${alias.provider}"; known providers: ${providerNames.join(', ')}`,
        );
      }
      this.aliases.set(alias.alias, alias);
    }
    if (!this.aliases.has(defaultAlias)) {
      throw new ConfigError(
        `DEFAULT_MODEL=${defaultAlias} is not a known alias; known: ${[...this.aliases.keys()].join(', ')}`,
      );
    }
  }

  find(alias: string): ModelAlias | undefined {
    return this.aliases.get(alias);
  }

  all(): ModelAlias[] {
    return [...this.aliases.values()];
  }
}
