import { plainToInstance, Type } from 'class-transformer';
import {
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  Min,
  MinLength,
  ValidateNested,
  validateSync,
  ValidationError,
} from 'class-validator';

import { IsModelAlias } from './model-alias';

import { ConfigError } from '../config/env';
import { GenerationParams } from './llm.types';
import { ModelAlias } from './model-registry';
import {
  PROVIDER_PRESETS,
  PROVIDER_TYPES,
  ProviderDefinition,
  ProviderPreset,
  ProviderType,
} from './provider-presets';

const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PROVIDER_NAME = /^[A-Za-z0-9._-]+$/;

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
  @IsOptional() @IsArray() @ArrayUnique() @IsString({ each: true }) fallbacks?: string[];
  @IsOptional() @IsBoolean() vision?: boolean;
  @IsOptional() @IsBoolean() tools?: boolean;
  @IsOptional() @IsBoolean() jsonSchema?: boolean;
}

class ProviderFileDefinition {
  @IsIn(PROVIDER_TYPES) type!: ProviderType;
  @IsUrl({ require_tld: false, require_protocol: true }) baseUrl!: string;
  @IsOptional()
  @Matches(VARIABLE_NAME, { message: 'apiKeyEnv must name an environment variable' })
  apiKeyEnv?: string;
  @IsOptional() @IsObject() headers?: Record<string, string>;
  @IsOptional() @IsString() @MinLength(1) label?: string;
  /** Ask it what it serves (GET /models); default: only a keyless (local) server. */
  @IsOptional() @IsBoolean() probe?: boolean;
}

class ModelsFile {
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => AliasDefinition)
  models!: AliasDefinition[];
}

/** What start-up reads the providers and aliases from. */
export interface LlmSetupInput {
  /** MODELS_FILE's path and text, when set; `text` is an Error when it could not be read. */
  modelsFile?: { path: string; text: string | Error };
  /** An environment variable (a key, a base URL, a model), empty as unset. */
  variable: (name: string) => string | undefined;
  /** DEFAULT_MODEL, when set. */
  defaultModel?: string;
}

export interface LlmSetup {
  /** The providers some alias names, with their base URL and key variable resolved. */
  providers: ResolvedProvider[];
  aliases: ModelAlias[];
  defaultAlias: string;
}

export interface ResolvedProvider extends ProviderDefinition {
  apiKey?: string;
}

/** "models[2].contextWindow: must not be less than 256", one line per broken field. */
function flatten(errors: ValidationError[], prefix: string): string[] {
  return errors.flatMap((error) => {
    const at = /^\d+$/.test(error.property)
      ? `${prefix}[${error.property}]`
      : `${prefix}${prefix ? '.' : ''}${error.property}`;
    const own = Object.values(error.constraints ?? {}).map((c) => `${at}: ${c}`);
    return [...own, ...flatten(error.children ?? [], at)];
  });
}

function toAlias(d: AliasDefinition): ModelAlias {
  return {
    alias: d.alias,
    provider: d.provider,
    model: d.model ?? null,
    contextWindow: d.contextWindow,
    maxOutputTokens: d.maxOutputTokens ?? Math.min(4096, Math.floor(d.contextWindow / 4)),
    params: { ...d.params },
    fallbacks: d.fallbacks ?? [],
    ...(d.vision !== undefined && { vision: d.vision }),
    ...(d.tools !== undefined && { tools: d.tools }),
    ...(d.jsonSchema !== undefined && { jsonSchema: d.jsonSchema }),
  };
}

interface ParsedFile {
  providers: Map<string, ProviderDefinition>;
  aliases: ModelAlias[];
}

/**
 * Reads the models file: `{ "providers"?: { name: { type, baseUrl, apiKeyEnv?, headers? } },
 * "models": [{ alias, provider, model?, contextWindow, maxOutputTokens?, params?, fallbacks? }] }`.
 * Pushes every problem it finds onto `problems`.
 */
function parseModelsFile(text: string, problems: string[]): ParsedFile | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    problems.push(`cannot read it as JSON (${(error as Error).message})`);
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    problems.push('expected a JSON object {"providers": {…}, "models": […]}');
    return undefined;
  }
  const file = plainToInstance(ModelsFile, raw);
  const errors = validateSync(file, { forbidUnknownValues: true });
  problems.push(...flatten(errors, ''));
  const providers = new Map<string, ProviderDefinition>();
  const declared = (raw as { providers?: unknown }).providers ?? {};
  if (typeof declared !== 'object' || declared === null || Array.isArray(declared)) {
    problems.push('providers: expected an object of providers by name');
  } else {
    for (const [name, value] of Object.entries(declared)) {
      const at = `providers.${name}`;
      if (!PROVIDER_NAME.test(name)) problems.push(`${at}: a name of letters, digits, . _ -`);
      const entry = plainToInstance(ProviderFileDefinition, value ?? {});
      const entryErrors = validateSync(entry, { forbidUnknownValues: true });
      problems.push(...flatten(entryErrors, at));
      const headers = Object.entries(entry.headers ?? {});
      if (headers.some(([, v]) => typeof v !== 'string'))
        problems.push(`${at}.headers: each header value must be a string`);
      if (entryErrors.length > 0) continue;
      providers.set(name, {
        name,
        type: entry.type,
        label: entry.label ?? name,
        baseUrl: entry.baseUrl,
        apiKeyEnv: entry.apiKeyEnv,
        headers: entry.headers,
        probe: entry.probe ?? entry.apiKeyEnv === undefined,
      });
    }
  }
  const models = Array.isArray(file.models) ? file.models : [];
  const valid = models.filter((m) => m instanceof AliasDefinition && validateSync(m).length === 0);
  const seen = new Set<string>();
  for (const model of valid) {
    if (seen.has(model.alias)) problems.push(`models: alias ${model.alias} is defined twice`);
    seen.add(model.alias);
  }
  return { providers, aliases: valid.map(toAlias) };
}

function resolveProvider(
  definition: ProviderDefinition,
  variable: LlmSetupInput['variable'],
): ResolvedProvider {
  const baseUrl = (definition.baseUrlEnv && variable(definition.baseUrlEnv)) || definition.baseUrl;
  const apiKey = definition.apiKeyEnv ? variable(definition.apiKeyEnv) : undefined;
  return { ...definition, baseUrl, apiKey };
}

/** File aliases naming an unknown or keyless provider, and fallbacks naming nobody. */
function aliasProblems(
  fromFile: ModelAlias[],
  aliases: Map<string, ModelAlias>,
  known: Map<string, ProviderDefinition>,
  variable: LlmSetupInput['variable'],
): string[] {
  const fileProblems: string[] = [];
  const where = (alias: string): string => `models: alias ${alias}`;
  for (const alias of fromFile) {
    const provider = known.get(alias.provider);
    if (!provider) {
      fileProblems.push(
        `${where(alias.alias)} names provider "${alias.provider}", which is neither a preset ` +
          `nor in "providers"; known: ${[...known.keys()].join(', ')}`,
      );
    } else if (provider.apiKeyEnv && !variable(provider.apiKeyEnv)) {
      fileProblems.push(
        `${where(alias.alias)} needs ${provider.apiKeyEnv} (the key of provider ` +
          `"${provider.name}"), which is unset`,
      );
    }
  }
  for (const alias of aliases.values()) {
    for (const fallback of alias.fallbacks) {
      if (fallback === alias.alias)
        fileProblems.push(`${where(alias.alias)} lists itself as a fallback`);
      else if (!aliases.has(fallback))
        fileProblems.push(`${where(alias.alias)} falls back to unknown alias "${fallback}"`);
    }
  }
  return fileProblems;
}

/**
 * The providers and aliases the service runs with: presets, then the models file (which
 * adds providers and adds or replaces aliases). Throws one ConfigError naming every problem.
 */
export function resolveLlmSetup(input: LlmSetupInput): LlmSetup {
  const { variable } = input;
  const problems: string[] = [];
  const known = new Map<string, ProviderDefinition | ProviderPreset>(
    PROVIDER_PRESETS.map((p) => [p.name, p]),
  );
  const aliases = new Map<string, ModelAlias>();
  for (const preset of PROVIDER_PRESETS)
    for (const alias of preset.aliases?.(variable) ?? []) aliases.set(alias.alias, alias);

  const fileProblems: string[] = [];
  let fromFile: ModelAlias[] = [];
  const { modelsFile } = input;
  if (modelsFile) {
    const parsed =
      modelsFile.text instanceof Error
        ? void fileProblems.push(`cannot read it (${modelsFile.text.message})`)
        : parseModelsFile(modelsFile.text, fileProblems);
    if (parsed) {
      for (const [name, provider] of parsed.providers) known.set(name, provider);
      fromFile = parsed.aliases;
      for (const alias of fromFile) aliases.set(alias.alias, alias);
    }
  }
  fileProblems.push(...aliasProblems(fromFile, aliases, known, variable));
  if (modelsFile) problems.push(...fileProblems.map((p) => `MODELS_FILE=${modelsFile.path}: ${p}`));

  const usable = (p: ProviderDefinition): boolean => !p.apiKeyEnv || Boolean(variable(p.apiKeyEnv));
  const preferred = PROVIDER_PRESETS.find(
    (p) => p.defaultAlias && usable(known.get(p.name) ?? p) && aliases.has(p.defaultAlias),
  )?.defaultAlias;
  const defaultAlias = input.defaultModel ?? preferred ?? 'lmstudio/default';
  if (!aliases.has(defaultAlias)) {
    problems.push(
      `DEFAULT_MODEL=${defaultAlias} is not a known alias; known: ${[...aliases.keys()].join(', ')}`,
    );
  }
  if (problems.length > 0) {
    throw new ConfigError(`Invalid model configuration:\n  ${problems.join('\n  ')}`);
  }
  const used = new Set([...aliases.values()].map((a) => a.provider));
  const providers = [...known.values()]
    .filter((p) => used.has(p.name))
    .map((p) => resolveProvider(p, variable));
  return { providers, aliases: [...aliases.values()], defaultAlias };
}
