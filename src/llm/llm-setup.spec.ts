import 'reflect-metadata';

import { ConfigError } from '../config/env';
import { LlmSetupInput, resolveLlmSetup } from './llm-setup';

const PATH = '/etc/chat/models.json';

function setup(file: unknown, env: Record<string, string> = {}, defaultModel?: string) {
  const input: LlmSetupInput = {
    modelsFile:
      file === undefined
        ? undefined
        : { path: PATH, text: typeof file === 'string' ? file : JSON.stringify(file) },
    variable: (name) => env[name] || undefined,
    defaultModel,
  };
  return resolveLlmSetup(input);
}

function problemsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message
      .split('\n')
      .slice(1)
      .map((line) => line.trim());
  }
  throw new Error('expected a ConfigError');
}

describe(resolveLlmSetup.name, () => {
  it('should ship the Groq aliases and an LM Studio default, with only their providers', () => {
    const result = setup(undefined);
    expect(result.aliases.map((a) => a.alias)).toEqual([
      'groq/llama-3.3-70b',
      'groq/llama-3.1-8b',
      'groq/gpt-oss-120b',
      'groq/qwen3-32b',
      'lmstudio/default',
    ]);
    expect(result.providers.map((p) => p.name)).toEqual(['groq', 'lmstudio']);
    expect(result.defaultAlias).toBe('lmstudio/default');
    expect(result.aliases.find((a) => a.alias === 'lmstudio/default')?.model).toBeNull();
  });

  it('should default to Groq when GROQ_API_KEY is set, and take LMSTUDIO_MODEL', () => {
    const result = setup(undefined, { GROQ_API_KEY: 'k', LMSTUDIO_MODEL: 'qwen' });
    expect(result.defaultAlias).toBe('groq/llama-3.3-70b');
    expect(result.aliases.find((a) => a.alias === 'lmstudio/default')?.model).toBe('qwen');
  });

  it('should read a file of aliases in the first format, filling in defaults', () => {
    const result = setup({
      models: [
        { alias: 'lmstudio/default', provider: 'lmstudio', model: 'm', contextWindow: 32768 },
        { alias: 'lmstudio/small', provider: 'lmstudio', contextWindow: 2048 },
      ],
    });
    expect(result.aliases.find((a) => a.alias === 'lmstudio/default')).toEqual({
      alias: 'lmstudio/default',
      provider: 'lmstudio',
      model: 'm',
      contextWindow: 32768,
      maxOutputTokens: 4096,
      params: {},
      fallbacks: [],
    });
    expect(result.aliases.find((a) => a.alias === 'lmstudio/small')?.maxOutputTokens).toBe(512);
  });

  it('should use a preset by name once its key is set, and a provider of the file', () => {
    const result = setup(
      {
        providers: {
          fireworks: {
            type: 'openai-compatible',
            baseUrl: 'https://fw.example/v1',
            apiKeyEnv: 'MY_FW_KEY',
            headers: { 'X-Team': 'chat' },
          },
          box: { type: 'openai-compatible', baseUrl: 'http://box:8080/v1' },
        },
        models: [
          { alias: 'or/llama', provider: 'openrouter', model: 'meta/llama', contextWindow: 8192 },
          {
            alias: 'chat/qwen-small',
            provider: 'fireworks',
            model: 'accounts/fireworks/models/qwen',
            contextWindow: 32768,
            vision: true,
            tools: true,
            jsonSchema: false,
            fallbacks: ['or/llama'],
          },
          { alias: 'box/any', provider: 'box', contextWindow: 4096 },
        ],
      },
      { OPENROUTER_API_KEY: 'or-key', MY_FW_KEY: 'fw-key' },
    );
    const byName = new Map(result.providers.map((p) => [p.name, p]));
    expect(byName.get('openrouter')).toMatchObject({
      baseUrl: 'https://openrouter.ai/api/v1',
      apiKey: 'or-key',
      probe: false,
    });
    expect(byName.get('fireworks')).toMatchObject({
      baseUrl: 'https://fw.example/v1',
      apiKey: 'fw-key',
      headers: { 'X-Team': 'chat' },
      probe: false,
    });
    expect(byName.get('box')).toMatchObject({ apiKey: undefined, probe: true });
    expect(result.aliases.find((a) => a.alias === 'chat/qwen-small')).toMatchObject({
      fallbacks: ['or/llama'],
      vision: true,
      tools: true,
      jsonSchema: false,
    });
    // Unstated capabilities stay unstated: taken as capable.
    expect(result.aliases.find((a) => a.alias === 'box/any')).not.toHaveProperty('jsonSchema');
  });

  it("should take a preset's base URL from its variable", () => {
    const result = setup(
      { models: [{ alias: 'ollama/q', provider: 'ollama', model: 'q', contextWindow: 4096 }] },
      { OLLAMA_BASE_URL: 'http://gpu-box:11434/v1' },
    );
    expect(result.providers.find((p) => p.name === 'ollama')?.baseUrl).toBe(
      'http://gpu-box:11434/v1',
    );
  });

  it('should name every problem of the file at once', () => {
    const problems = problemsOf(() =>
      setup(
        {
          providers: {
            fireworks: { type: 'openai-compatible', baseUrl: 'x', apiKeyEnv: 'FW KEY' },
            weird: { type: 'soap', baseUrl: 'https://w.example/v1' },
          },
          models: [
            { alias: 'a/one', provider: 'nowhere', contextWindow: 4096 },
            { alias: 'a/two', provider: 'lmstudio', contextWindow: 4096 },
            { alias: 'a/two', provider: 'lmstudio', contextWindow: 4096 },
            { alias: 'a/three', provider: 'openai', contextWindow: 4096 },
            { alias: 'a/four', provider: 'lmstudio', contextWindow: 4096, fallbacks: ['a/gone'] },
            { alias: 'a/five', provider: 'lmstudio', contextWindow: 10 },
          ],
        },
        {},
        'a/missing',
      ),
    );
    const expected = [
      /^MODELS_FILE=\/etc\/chat\/models.json: models\[5\]\.contextWindow: /,
      /providers\.fireworks\.baseUrl: /,
      /providers\.fireworks\.apiKeyEnv: apiKeyEnv must name an environment variable/,
      /providers\.weird\.type: /,
      /alias a\/two is defined twice/,
      /alias a\/one names provider "nowhere", which is neither a preset nor in "providers"/,
      /alias a\/three needs OPENAI_API_KEY \(the key of provider "openai"\), which is unset/,
      /alias a\/four falls back to unknown alias "a\/gone"/,
      /^DEFAULT_MODEL=a\/missing is not a known alias/,
    ];
    for (const pattern of expected) expect(problems).toContainEqual(expect.stringMatching(pattern));
    expect(problems).toHaveLength(expected.length);
  });

  it('should refuse a file that is not JSON, naming MODELS_FILE', () => {
    const problems = problemsOf(() => setup('{ "models": [ '));
    expect(problems).toEqual([expect.stringMatching(/^MODELS_FILE=.*: cannot read it as JSON/)]);
  });

  it('should refuse a file it cannot read, naming MODELS_FILE', () => {
    const problems = problemsOf(() =>
      resolveLlmSetup({
        modelsFile: { path: PATH, text: new Error('ENOENT: no such file') },
        variable: () => undefined,
      }),
    );
    expect(problems).toEqual([`MODELS_FILE=${PATH}: cannot read it (ENOENT: no such file)`]);
  });

  it.each([
    ['no models list', {}],
    ['models not a list', { models: { alias: 'lmstudio/x' } }],
    ['a bad alias', { models: [{ alias: 'no slash', provider: 'lmstudio', contextWindow: 4096 }] }],
    [
      'bad params',
      {
        models: [{ alias: 'a/b', provider: 'lmstudio', contextWindow: 4096, params: { topP: 3 } }],
      },
    ],
    [
      'fallbacks not a list',
      { models: [{ alias: 'a/b', provider: 'lmstudio', contextWindow: 4096, fallbacks: 'c/d' }] },
    ],
  ])('should refuse a file with %s, naming MODELS_FILE', (_label, content) => {
    const problems = problemsOf(() => setup(content));
    expect(problems.length).toBeGreaterThan(0);
    for (const problem of problems) expect(problem).toContain(`MODELS_FILE=${PATH}`);
  });
});
