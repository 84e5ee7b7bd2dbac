import 'reflect-metadata';

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ConfigError } from '../config/env';
import { builtInAliases, ModelAlias, ModelRegistry, readModelsFile } from './model-registry';

const providers = ['groq', 'lmstudio'];

function configErrorOf(action: () => unknown): ConfigError {
  try {
    action();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe(builtInAliases.name, () => {
  it('should ship the Groq aliases and an LM Studio default', () => {
    expect(builtInAliases(undefined).map((a) => a.alias)).toEqual([
      'groq/llama-3.3-70b',
      'groq/llama-3.1-8b',
      'groq/gpt-oss-120b',
      'groq/qwen3-32b',
      'lmstudio/default',
    ]);
  });

  it('should leave lmstudio/default without a model when LMSTUDIO_MODEL is unset', () => {
    const lmstudio = builtInAliases(undefined).find((a) => a.alias === 'lmstudio/default');
    expect(lmstudio).toMatchObject({ provider: 'lmstudio', model: null });
  });

  it('should use LMSTUDIO_MODEL for lmstudio/default when set', () => {
    const lmstudio = builtInAliases('qwen2.5-7b').find((a) => a.alias === 'lmstudio/default');
    expect(lmstudio?.model).toBe('qwen2.5-7b');
  });

  it('should name a provider and upstream model for every Groq alias', () => {
    for (const alias of builtInAliases(undefined).filter((a) => a.provider === 'groq')) {
      expect(alias.model).toEqual(expect.any(String));
      expect(alias.maxOutputTokens).toBeLessThan(alias.contextWindow);
    }
  });
});

describe(readModelsFile.name, () => {
  let dir: string;
  const write = (name: string, content: string): string => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'model-registry-spec-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('should read aliases and fill in defaults', () => {
    const path = write(
      'models.json',
      JSON.stringify({
        models: [
          {
            alias: 'lmstudio/default',
            provider: 'lmstudio',
            model: 'llama-3.2-3b',
            contextWindow: 32768,
            maxOutputTokens: 2048,
            params: { temperature: 0.2 },
          },
          { alias: 'lmstudio/small', provider: 'lmstudio', contextWindow: 2048 },
          { alias: 'lmstudio/large', provider: 'lmstudio', contextWindow: 65536 },
        ],
      }),
    );
    expect(readModelsFile(path)).toEqual<ModelAlias[]>([
      {
        alias: 'lmstudio/default',
        provider: 'lmstudio',
        model: 'llama-3.2-3b',
        contextWindow: 32768,
        maxOutputTokens: 2048,
        params: { temperature: 0.2 },
      },
      {
        alias: 'lmstudio/small',
        provider: 'lmstudio',
        model: null,
        contextWindow: 2048,
        maxOutputTokens: 512,
        params: {},
      },
      {
        alias: 'lmstudio/large',
        provider: 'lmstudio',
        model: null,
        contextWindow: 65536,
        maxOutputTokens: 4096,
        params: {},
      },
    ]);
  });

  it('should refuse a file that is not JSON, naming MODELS_FILE', () => {
    const path = write('bad.json', '{ "models": [ ');
    const error = configErrorOf(() => readModelsFile(path));
    expect(error.message).toContain(`MODELS_FILE=${path}`);
    expect(error.message).toContain('JSON');
  });

  it('should refuse a missing file, naming MODELS_FILE', () => {
    const path = join(dir, 'does-not-exist.json');
    expect(configErrorOf(() => readModelsFile(path)).message).toContain(`MODELS_FILE=${path}`);
  });

  it('should refuse an alias without contextWindow, naming MODELS_FILE', () => {
    const path = write(
      'no-window.json',
      JSON.stringify({ models: [{ alias: 'lmstudio/x', provider: 'lmstudio' }] }),
    );
    const error = configErrorOf(() => readModelsFile(path));
    expect(error.message).toContain(`MODELS_FILE=${path}`);
    expect(error.message).toContain('contextWindow');
  });

  it.each([
    ['no models list', {}],
    ['models not a list', { models: { alias: 'lmstudio/x' } }],
    ['a bad alias', { models: [{ alias: 'no slash', provider: 'lmstudio', contextWindow: 4096 }] }],
    ['a tiny window', { models: [{ alias: 'a/b', provider: 'lmstudio', contextWindow: 10 }] }],
    [
      'bad params',
      {
        models: [{ alias: 'a/b', provider: 'lmstudio', contextWindow: 4096, params: { topP: 3 } }],
      },
    ],
  ])('should refuse a file with %s, naming MODELS_FILE', (_label, content) => {
    const path = write('invalid.json', JSON.stringify(content));
    expect(configErrorOf(() => readModelsFile(path)).message).toContain(`MODELS_FILE=${path}`);
  });
});

describe(ModelRegistry.name, () => {
  const custom = (alias: string, provider: string, model: string | null = 'm'): ModelAlias => ({
    alias,
    provider,
    model,
    contextWindow: 4096,
    maxOutputTokens: 512,
    params: {},
  });

  it('should find aliases by name and list them all', () => {
    const registry = new ModelRegistry(builtInAliases(undefined), providers, 'lmstudio/default');
    expect(registry.defaultAlias).toBe('lmstudio/default');
    expect(registry.find('groq/llama-3.1-8b')).toMatchObject({
      provider: 'groq',
      model: 'llama-3.1-8b-instant',
    });
    expect(registry.find('lmstudio/default')?.model).toBeNull();
    expect(registry.find('nope/nothing')).toBeUndefined();
    expect(registry.all()).toHaveLength(5);
  });

  it('should refuse an alias that names an unknown provider', () => {
    const error = configErrorOf(
      () => new ModelRegistry([custom('openai/gpt', 'openai')], providers, 'openai/gpt'),
    );
    expect(error.message).toContain('openai/gpt');
    expect(error.message).toContain('"openai"');
    expect(error.message).toContain('groq, lmstudio');
  });

  it('should refuse an unknown default alias, naming DEFAULT_MODEL', () => {
    const error = configErrorOf(
      () => new ModelRegistry(builtInAliases(undefined), providers, 'groq/does-not-exist'),
    );
    expect(error.message).toContain('DEFAULT_MODEL=groq/does-not-exist');
  });

  it('should let later aliases (from MODELS_FILE) replace built-in ones', () => {
    const dir = mkdtempSync(join(tmpdir(), 'model-registry-spec-'));
    try {
      const path = join(dir, 'models.json');
      writeFileSync(
        path,
        JSON.stringify({
          models: [
            {
              alias: 'lmstudio/default',
              provider: 'lmstudio',
              model: 'mistral-7b',
              contextWindow: 16384,
            },
            { alias: 'groq/custom', provider: 'groq', model: 'x', contextWindow: 8192 },
          ],
        }),
      );
      const registry = new ModelRegistry(
        [...builtInAliases(undefined), ...readModelsFile(path)],
        providers,
        'groq/custom',
      );
      expect(registry.find('lmstudio/default')).toMatchObject({
        model: 'mistral-7b',
        contextWindow: 16384,
        maxOutputTokens: 4096,
      });
      expect(registry.find('groq/custom')?.model).toBe('x');
      expect(registry.find('groq/llama-3.3-70b')?.contextWindow).toBe(131_072);
      expect(registry.all()).toHaveLength(6);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
