import { Env } from './env';

/** The validated configuration, injected wherever a setting is needed. */
export class AppConfig {
  constructor(
    private readonly env: Env,
    /** The database actually in use: DATABASE_URL, or the embedded server's URL. */
    readonly databaseUrl: string,
  ) {}

  get<K extends keyof Env>(key: K): Env[K] {
    return this.env[key];
  }

  /** Some settings by name, for a lower room that takes them as plain values. */
  pick<K extends keyof Env>(...keys: K[]): Pick<Env, K> {
    return Object.fromEntries(keys.map((key) => [key, this.env[key]])) as Pick<Env, K>;
  }
}
