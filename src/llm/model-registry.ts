import { GenerationParams } from './llm.types';

export interface ModelAlias {
  alias: string;
  /** Registry key of the provider (a preset or one of the models file). */
  provider: string;
  /** Upstream model id; null means "the first model the server lists". */
  model: string | null;
  contextWindow: number;
  /** Reply budget when a turn sets no maxTokens. */
  maxOutputTokens: number;
  params: GenerationParams;
  /** Aliases tried in order when this one fails before its first token. */
  fallbacks: string[];
  /** Capabilities; unset means not known, taken as capable (the provider has the last word). */
  vision?: boolean;
  /** false: requests that offer tools are refused (tools_not_supported). */
  tools?: boolean;
  /** false: `json_schema` response formats are refused (response_format_not_supported). */
  jsonSchema?: boolean;
}

/** Alias → provider, upstream model, context window and defaults (checked by resolveLlmSetup). */
export class ModelRegistry {
  private readonly aliases: Map<string, ModelAlias>;

  constructor(
    aliases: ModelAlias[],
    readonly defaultAlias: string,
  ) {
    this.aliases = new Map(aliases.map((a) => [a.alias, a]));
  }

  find(alias: string): ModelAlias | undefined {
    return this.aliases.get(alias);
  }

  all(): ModelAlias[] {
    return [...this.aliases.values()];
  }
}
