import { Env, redactedEnv } from './env';

/** The validated configuration, injected wherever a setting is needed. */
export class AppConfig {
  constructor(
    private readonly env: Env,
    /** The database actually in use: DATABASE_URL, or the embedded server's URL. */
    readonly databaseUrl: string,
    /**
     * The environment as read at start-up, for the variables configuration names rather
     * than the code (a models-file provider's `apiKeyEnv`).
     */
    private readonly environment: Readonly<Record<string, string | undefined>> = {},
  ) {}

  get<K extends keyof Env>(key: K): Env[K] {
    return this.env[key];
  }

  /** Some settings by name, for a lower room that takes them as plain values. */
  pick<K extends keyof Env>(...keys: K[]): Pick<Env, K> {
    return Object.fromEntries(keys.map((key) => [key, this.env[key]])) as Pick<Env, K>;
  }

  /** Every setting as it may be written down: secrets hidden, URLs redacted (redactedEnv). */
  redacted(): Record<string, unknown> {
    return redactedEnv(this.env);
  }

  /** A variable by name: a validated one of Env, else as set (empty counts as unset). */
  variable(name: string): string | undefined {
    const value = Object.hasOwn(this.env, name)
      ? (this.env as unknown as Record<string, unknown>)[name]
      : this.environment[name];
    const text = typeof value === 'number' || typeof value === 'boolean' ? String(value) : value;
    return typeof text === 'string' && text.trim() !== '' ? text : undefined;
  }
}
