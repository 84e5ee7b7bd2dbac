import type { GenerationParams, JsonSchemaFormat, ResponseFormat } from './llm.types';

type ParamsLayer = { [K in keyof GenerationParams]?: number | null };

/**
 * A turn's generation params from its layers (alias defaults, conversation, request):
 * later layers win; unset (null) values never override.
 */
export function mergeParams(...layers: (ParamsLayer | undefined)[]): GenerationParams {
  const merged: GenerationParams = {};
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer ?? {}) as [keyof GenerationParams, unknown][])
      if (typeof value === 'number') merged[key] = value;
  }
  return merged;
}

/** What a turn may ask of its reply's format: OpenAI's shape (validated), or `jsonMode`. */
export interface FormatParams {
  jsonMode?: boolean;
  responseFormat?: { type: 'text' | 'json_object' | 'json_schema'; json_schema?: JsonSchemaFormat };
}

/** The format to ask the provider for: none for plain text, the default. */
export function requestedFormat(params: FormatParams | undefined): ResponseFormat | undefined {
  const format = params?.responseFormat;
  if (!format) return params?.jsonMode ? { type: 'json_object' } : undefined;
  if (format.type === 'json_schema' && format.json_schema)
    return { type: 'json_schema', json_schema: format.json_schema };
  return format.type === 'json_object' ? { type: 'json_object' } : undefined;
}
