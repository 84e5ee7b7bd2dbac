import type { GenerationParams } from './llm.types';

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
