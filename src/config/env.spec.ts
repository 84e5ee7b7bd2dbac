import { ConfigError, Env, loadEnv } from './env';

function configErrorOf(raw: Record<string, string | undefined>): ConfigError {
  try {
    loadEnv(raw);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`expected loadEnv(${JSON.stringify(raw)}) to throw a ConfigError`);
}

describe(loadEnv.name, () => {
  it('should use the defaults when nothing is set', () => {
    const env = loadEnv({});
    expect(env).toBeInstanceOf(Env);
    expect(env).toMatchObject({
      PORT: 3000,
      HOST: '127.0.0.1',
      EMBEDDED_DB_DIR: '.data/postgres',
      EMBEDDED_DB_PORT: 54329,
      DB_POOL_SIZE: 10,
      LMSTUDIO_BASE_URL: 'http://localhost:1234/v1',
      LLM_TIMEOUT_MS: 60_000,
      LLM_MAX_RETRIES: 2,
      LOG_LEVEL: 'info',
      LOG_PRETTY: false,
      BODY_LIMIT_BYTES: 1024 * 1024,
      MESSAGE_MAX_CHARS: 100_000,
      SHUTDOWN_TIMEOUT_MS: 30_000,
      PROCESS_HEARTBEAT_MS: 1000,
      RATE_LIMIT_STORE: 'memory',
      PROCESS_DEAD_AFTER_MS: 4000,
      CHECKPOINT_MS: 1000,
      GENERATION_MAX_MS: 600_000,
      SSE_HEARTBEAT_MS: 15_000,
    });
    expect(env.DATABASE_URL).toBeUndefined();
    expect(env.DEFAULT_MODEL).toBeUndefined();
    expect(env.GROQ_API_KEY).toBeUndefined();
    expect(env.GROQ_BASE_URL).toBeUndefined();
    expect(env.LMSTUDIO_MODEL).toBeUndefined();
    expect(env.MODELS_FILE).toBeUndefined();
  });

  it('should parse numbers and booleans from strings', () => {
    const env = loadEnv({
      PORT: '8080',
      DB_POOL_SIZE: ' 25 ',
      LLM_MAX_RETRIES: '0',
      BODY_LIMIT_BYTES: '2048',
      LOG_PRETTY: 'true',
    });
    expect(env.PORT).toBe(8080);
    expect(env.DB_POOL_SIZE).toBe(25);
    expect(env.LLM_MAX_RETRIES).toBe(0);
    expect(env.BODY_LIMIT_BYTES).toBe(2048);
    expect(env.LOG_PRETTY).toBe(true);
    expect(loadEnv({ LOG_PRETTY: '0' }).LOG_PRETTY).toBe(false);
  });

  it('should keep valid strings as given', () => {
    const env = loadEnv({
      DATABASE_URL: 'postgresql://user:pw@db:5432/chat',
      GROQ_API_KEY: 'gsk_test',
      GROQ_BASE_URL: 'http://fake-llm:8080',
      LMSTUDIO_MODEL: 'qwen2.5-7b',
      DEFAULT_MODEL: 'groq/llama-3.1-8b',
      LOG_LEVEL: 'debug',
    });
    expect(env).toMatchObject({
      DATABASE_URL: 'postgresql://user:pw@db:5432/chat',
      GROQ_API_KEY: 'gsk_test',
      GROQ_BASE_URL: 'http://fake-llm:8080',
      LMSTUDIO_MODEL: 'qwen2.5-7b',
      DEFAULT_MODEL: 'groq/llama-3.1-8b',
      LOG_LEVEL: 'debug',
    });
    expect(loadEnv({ DATABASE_URL: 'postgres://x/y' }).DATABASE_URL).toBe('postgres://x/y');
  });

  it('should ignore unrelated environment variables', () => {
    const env = loadEnv({ PATH: '/usr/bin', HOME: '/root', PORT: '3001' });
    expect(env.PORT).toBe(3001);
    expect(env).not.toHaveProperty('PATH');
  });

  it.each(['abc', '70000', '-1', '80.5'])('should refuse PORT=%s, naming it', (port) => {
    const error = configErrorOf({ PORT: port });
    expect(error.message).toContain('PORT');
    expect(error.message).toContain(port);
  });

  it('should refuse a DATABASE_URL that is not PostgreSQL, naming it', () => {
    const error = configErrorOf({ DATABASE_URL: 'mysql://x' });
    expect(error.message).toContain('DATABASE_URL');
    expect(error.message).toContain('must be a postgresql:// URL');
  });

  it('should refuse an unknown LOG_LEVEL, naming it', () => {
    expect(configErrorOf({ LOG_LEVEL: 'verbose' }).message).toContain('LOG_LEVEL');
  });

  it('should name every bad variable at once', () => {
    const error = configErrorOf({ PORT: 'abc', LOG_LEVEL: 'loud', LOG_PRETTY: 'maybe' });
    expect(error.message).toContain('PORT');
    expect(error.message).toContain('LOG_LEVEL');
    expect(error.message).toContain('LOG_PRETTY');
    expect(error.message).not.toContain('HOST');
  });

  it('should treat empty optional variables as unset', () => {
    const env = loadEnv({
      DATABASE_URL: '',
      DEFAULT_MODEL: '  ',
      GROQ_API_KEY: '',
      GROQ_BASE_URL: '',
      LMSTUDIO_MODEL: '',
      MODELS_FILE: '',
    });
    expect(env.DATABASE_URL).toBeUndefined();
    expect(env.DEFAULT_MODEL).toBeUndefined();
    expect(env.GROQ_API_KEY).toBeUndefined();
    expect(env.GROQ_BASE_URL).toBeUndefined();
    expect(env.LMSTUDIO_MODEL).toBeUndefined();
    expect(env.MODELS_FILE).toBeUndefined();
  });

  it('should refuse a TRUST_PROXY that Express cannot use, naming it', () => {
    for (const value of ['maybe', '10.0.0.0/33', '1.2.3.4, nope', '-1', '']) {
      const error = configErrorOf({ TRUST_PROXY: value });
      expect(error.message).toContain('TRUST_PROXY');
      expect(error.message).toContain('true, false, a hop count');
    }
  });

  it('should accept every TRUST_PROXY form Express takes', () => {
    for (const value of [
      'true',
      'false',
      '2',
      'loopback',
      '10.0.0.1',
      'loopback, 10.0.0.0/8, fc00::/7',
      '192.168.0.0/255.255.0.0',
    ]) {
      expect(loadEnv({ TRUST_PROXY: value }).TRUST_PROXY).toBe(value);
    }
  });

  it('should throw a ConfigError that is an Error', () => {
    expect(() => loadEnv({ PORT: 'abc' })).toThrow(ConfigError);
    expect(configErrorOf({ PORT: 'abc' })).toBeInstanceOf(Error);
  });
});
