import { isIP } from 'node:net';

import { plainToInstance, Transform } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateBy,
  ValidateIf,
  validateSync,
  ValidationError,
} from 'class-validator';

import { redactUrl } from '../common/text/redact-url';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const AUTH_MODES = ['none', 'jwt', 'api-key', 'local'] as const;
const REGISTRATION_MODES = ['open', 'closed'] as const;
const RATE_LIMIT_STORES = ['memory', 'postgres'] as const;
const SWITCHES = ['on', 'off'] as const;
const FILE_STORAGES = ['postgres', 's3'] as const;
export type AuthMode = (typeof AUTH_MODES)[number];

const toInt = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
const toBool = ({ value }: { value: unknown }): unknown => {
  if (typeof value !== 'string') return value;
  const v = value.trim().toLowerCase();
  if (v === 'true' || v === '1' || v === 'on') return true;
  if (v === 'false' || v === '0' || v === 'off') return false;
  return value;
};
/** A duration in seconds: a number, or one with a unit (`90s`, `30m`, `24h`, `7d`). */
const toSeconds = ({ value }: { value: unknown }): unknown => {
  if (typeof value !== 'string') return value;
  const match = /^(\d+)\s*([smhd]?)$/.exec(value.trim());
  if (!match) return value;
  return Number(match[1]) * { '': 1, s: 1, m: 60, h: 3600, d: 86_400 }[match[2] as 's'];
};
const emptyToUndefined = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;

/** A number no smaller than another variable's (Node refuses headers timeouts above request ones). */
const AtLeast = (other: keyof Env): PropertyDecorator =>
  ValidateBy({
    name: 'atLeast',
    validator: {
      validate: (value: unknown, args) =>
        typeof value === 'number' && value >= Number((args?.object as Env)[other]),
      defaultMessage: (args) => `${args?.property} must be at least ${other}`,
    },
  });

const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** One entry of an Express "trust proxy" list: a name, an address, or a subnet. */
function isProxyEntry(entry: string): boolean {
  if (PROXY_NAMES.has(entry)) return true;
  const [address, range, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (range === undefined) return true;
  if (/^\d{1,3}$/.test(range)) return Number(range) <= (family === 4 ? 32 : 128);
  return family === 4 && isIP(range) === 4;
}

/** Express compiles any other string into a TypeError at start-up; refuse it here instead. */
function IsTrustProxy(): PropertyDecorator {
  return ValidateBy({
    name: 'isTrustProxy',
    validator: {
      validate: (value: unknown) =>
        typeof value === 'string' &&
        (/^(true|false|\d+)$/.test(value) ||
          value.split(',').every((entry) => isProxyEntry(entry.trim()))),
      defaultMessage: () =>
        'must be true, false, a hop count, or comma-separated addresses, subnets ' +
        'and loopback/linklocal/uniquelocal',
    },
  });
}

/**
 * Every environment variable the service reads, with its default. Validated once at
 * start-up (`loadEnv`); the rest of the code reads the typed result, never process.env.
 */
export class Env {
  @Transform(toInt) @IsInt() @Min(0) @Max(65535) PORT = 3000;

  /**
   * Loopback by default: with AUTH_MODE=none anyone who reaches the port is the one owner,
   * and pages of a localhost dev server may call it (CorsPolicy). The image sets 0.0.0.0.
   */
  @IsString() HOST = '127.0.0.1';

  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^postgres(ql)?:\/\/.+/, { message: 'must be a postgresql:// URL' })
  DATABASE_URL?: string;

  /** Where the embedded PostgreSQL keeps its data when DATABASE_URL is unset. */
  @IsString() @MinLength(1) EMBEDDED_DB_DIR = '.data/postgres';

  @Transform(toInt) @IsInt() @Min(1024) @Max(65535) EMBEDDED_DB_PORT = 54329;

  @Transform(toInt) @IsInt() @Min(1) @Max(200) DB_POOL_SIZE = 10;

  /**
   * How long start-up waits, with backoff, for an external DATABASE_URL that is not
   * answering yet (refused, unknown host, starting up); 0 = fail at once.
   */
  @Transform(toInt) @IsInt() @Min(0) @Max(3_600_000) DB_STARTUP_WAIT_MS = 60_000;

  @Transform(emptyToUndefined) @IsOptional() @IsString() @MaxLength(100) DEFAULT_MODEL?: string;

  @Transform(emptyToUndefined) @IsOptional() @IsString() GROQ_API_KEY?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true })
  GROQ_BASE_URL?: string;

  @IsUrl({ require_tld: false, require_protocol: true })
  LMSTUDIO_BASE_URL = 'http://localhost:1234/v1';

  @Transform(emptyToUndefined) @IsOptional() @IsString() LMSTUDIO_MODEL?: string;

  @Transform(emptyToUndefined) @IsOptional() @IsString() MODELS_FILE?: string;

  /** Keys of the provider presets (see src/llm/provider-presets.ts). */
  @Transform(emptyToUndefined) @IsOptional() @IsString() OPENAI_API_KEY?: string;
  @Transform(emptyToUndefined) @IsOptional() @IsString() ANTHROPIC_API_KEY?: string;
  @Transform(emptyToUndefined) @IsOptional() @IsString() FIREWORKS_API_KEY?: string;
  @Transform(emptyToUndefined) @IsOptional() @IsString() OPENROUTER_API_KEY?: string;
  @Transform(emptyToUndefined) @IsOptional() @IsString() TOGETHER_API_KEY?: string;
  @Transform(emptyToUndefined) @IsOptional() @IsString() DEEPSEEK_API_KEY?: string;
  @Transform(emptyToUndefined) @IsOptional() @IsString() MISTRAL_API_KEY?: string;

  /** Base URLs of the presets that are often elsewhere (a proxy, another host). */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true })
  OPENAI_BASE_URL?: string;

  @IsUrl({ require_tld: false, require_protocol: true })
  OLLAMA_BASE_URL = 'http://localhost:11434/v1';

  @IsUrl({ require_tld: false, require_protocol: true })
  VLLM_BASE_URL = 'http://localhost:8000/v1';

  /** Consecutive failures after which a provider is left alone for PROVIDER_COOLDOWN_MS. */
  @Transform(toInt) @IsInt() @Min(1) @Max(1000) PROVIDER_FAILURES_TO_OPEN = 3;

  @Transform(toInt) @IsInt() @Min(100) @Max(3_600_000) PROVIDER_COOLDOWN_MS = 30_000;

  @Transform(toInt) @IsInt() @Min(100) @Max(600_000) LLM_TIMEOUT_MS = 60_000;

  /**
   * JSON file of MCP servers whose tools conversations may use (`{ "mcpServers": { … } }`,
   * the format MCP clients share); unset = no server tools.
   */
  @Transform(emptyToUndefined) @IsOptional() @IsString() MCP_SERVERS_FILE?: string;

  /** Longest one server tool call may take before it is cancelled and the model told so. */
  @Transform(toInt) @IsInt() @Min(100) @Max(3_600_000) TOOL_TIMEOUT_MS = 30_000;

  /** Most model steps one turn may take while the model keeps calling server tools. */
  @Transform(toInt) @IsInt() @Min(1) @Max(100) TOOL_MAX_STEPS = 8;

  /** Largest tool output handed to the model, in bytes (UTF-8); longer ones are cut and say so. */
  @Transform(toInt) @IsInt() @Min(256) @Max(16 * 1024 * 1024) TOOL_OUTPUT_MAX_BYTES = 64 * 1024;

  @Transform(toInt) @IsInt() @Min(0) @Max(10) LLM_MAX_RETRIES = 2;

  @IsIn(LOG_LEVELS) LOG_LEVEL: (typeof LOG_LEVELS)[number] = 'info';

  /** Human-readable logs instead of JSON lines (development). */
  @Transform(toBool) @IsBoolean() LOG_PRETTY = false;

  /** Include message and reply text in the per-turn log line (off: texts are private). */
  @Transform(toBool) @IsBoolean() LOG_MESSAGES = false;

  /**
   * Where each start writes its run folder (manifest.json, interactions.jsonl: one line per
   * provider call); unset = no run telemetry.
   */
  @Transform(emptyToUndefined) @IsOptional() @IsString() RUNS_DIR?: string;

  /** Size at which interactions.jsonl is rotated (interactions.1.jsonl, … a few kept). */
  @Transform(toInt) @IsInt() @Min(1024) @Max(10 * 1024 ** 3) RUNS_MAX_BYTES = 50 * 1024 * 1024;

  /** Largest accepted request body, in bytes. */
  @Transform(toInt) @IsInt() @Min(1024) @Max(50 * 1024 * 1024) BODY_LIMIT_BYTES = 1024 * 1024;

  /** Longest accepted user message, in characters. */
  @Transform(toInt) @IsInt() @Min(1) @Max(1_000_000) MESSAGE_MAX_CHARS = 100_000;

  /** How long in-flight work may run after SIGTERM before the process stops anyway. */
  @Transform(toInt) @IsInt() @Min(0) @Max(600_000) SHUTDOWN_TIMEOUT_MS = 30_000;

  /** How often each process tells the database it is alive. */
  @Transform(toInt) @IsInt() @Min(100) @Max(60_000) PROCESS_HEARTBEAT_MS = 1000;

  /**
   * A process silent this long is taken for dead: its claims are taken over and its
   * running replies finalised with their checkpointed text.
   */
  @Transform(toInt) @IsInt() @Min(300) @Max(600_000) PROCESS_DEAD_AFTER_MS = 4000;

  /**
   * How often running replies are checkpointed: cancels and claims read, and new text
   * appended to turn_checkpoints (after 512 characters or 5 periods).
   */
  @Transform(toInt) @IsInt() @Min(100) @Max(60_000) CHECKPOINT_MS = 1000;

  /**
   * How long a finished reply is kept in memory and its store retried while the database
   * does not answer, before it is given up (logged with its text).
   */
  @Transform(toInt) @IsInt() @Min(0) @Max(3_600_000) REPLY_STORE_RETRY_MS = 120_000;

  /**
   * Longest text one reply may grow to (answer and reasoning, in characters): a runaway
   * upstream is cut there and the reply ends `complete` with finish reason `length`.
   */
  @Transform(toInt) @IsInt() @Min(100) @Max(100_000_000) REPLY_MAX_CHARS = 1_000_000;

  /** Upper bound on one generation, however the upstream behaves. */
  @Transform(toInt) @IsInt() @Min(1000) @Max(3_600_000) GENERATION_MAX_MS = 600_000;

  @Transform(toInt) @IsInt() @Min(100) @Max(600_000) SSE_HEARTBEAT_MS = 15_000;

  /** How often each WebSocket is pinged; a peer that has not answered the previous ping is dropped. */
  @Transform(toInt) @IsInt() @Min(100) @Max(600_000) WS_PING_MS = 30_000;

  /**
   * Bytes a WebSocket may have queued unsent before its streams pause until it reads (and
   * twice this before it is closed with 1013): a slow client holds at most this much memory.
   */
  @Transform(toInt) @IsInt() @Min(1024) @Max(64 * 1024 * 1024) WS_MAX_BUFFERED_BYTES = 1024 * 1024;

  /** WebSockets one owner (an anonymous client: one address) may hold open at once, per process. */
  @Transform(toInt) @IsInt() @Min(1) @Max(100_000) WS_MAX_SOCKETS_PER_CLIENT = 32;

  /** none: one local owner (development); jwt: bearer tokens; api-key: static keys; local: built-in users. */
  @IsIn(AUTH_MODES) AUTH_MODE: AuthMode = 'none';

  /** HS256 secret (at least 32 characters) for AUTH_MODE=jwt. */
  @Transform(emptyToUndefined)
  @ValidateIf((env: Env) => env.AUTH_MODE === 'jwt' && !env.JWT_JWKS_URL)
  @IsString({ message: 'JWT_SECRET or JWT_JWKS_URL is required when AUTH_MODE=jwt' })
  @MinLength(32, { message: 'JWT_SECRET must be at least 32 characters' })
  JWT_SECRET?: string;

  /** JWKS endpoint of the identity provider (RS256/ES256 keys), for AUTH_MODE=jwt. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true })
  JWT_JWKS_URL?: string;

  @Transform(emptyToUndefined) @IsOptional() @IsString() JWT_ISSUER?: string;

  @Transform(emptyToUndefined) @IsOptional() @IsString() JWT_AUDIENCE?: string;

  /**
   * AUTH_MODE=jwt: refuse tokens without an exp claim (a leaked one would work forever).
   * Turn off only for an identity provider that cannot set exp.
   */
  @Transform(toBool) @IsBoolean() JWT_REQUIRE_EXP = true;

  /** Least time between two JWKS refetches for an unknown key id. */
  @Transform(toInt) @IsInt() @Min(0) @Max(3_600_000) JWT_JWKS_COOLDOWN_MS = 30_000;

  /** For AUTH_MODE=api-key: comma-separated `owner:sha256hex` (see `npm run api-key`). */
  @Transform(emptyToUndefined)
  @ValidateIf((env: Env) => env.AUTH_MODE === 'api-key')
  @IsString({ message: 'API_KEYS is required when AUTH_MODE=api-key' })
  @Matches(/^[A-Za-z0-9._@-]{1,200}:[0-9a-f]{64}(,[A-Za-z0-9._@-]{1,200}:[0-9a-f]{64})*$/, {
    message: 'API_KEYS must be owner:sha256hex[,owner:sha256hex…]',
  })
  API_KEYS?: string;

  /** HS256 secret (at least 32 characters) signing the access tokens of AUTH_MODE=local. */
  @Transform(emptyToUndefined)
  @ValidateIf((env: Env) => env.AUTH_MODE === 'local')
  @IsString({ message: 'LOCAL_JWT_SECRET is required when AUTH_MODE=local' })
  @MinLength(32, { message: 'LOCAL_JWT_SECRET must be at least 32 characters' })
  LOCAL_JWT_SECRET?: string;

  /** AUTH_MODE=local: whether anyone may create an account (closed: `npm run users -- create`). */
  @IsIn(REGISTRATION_MODES) AUTH_REGISTRATION: (typeof REGISTRATION_MODES)[number] = 'open';

  /** AUTH_MODE=local: registrations one client address may make per hour (all replicas together). */
  @Transform(toInt) @IsInt() @Min(1) @Max(1_000_000) REGISTRATIONS_PER_HOUR_PER_ADDRESS = 10;

  /** Lifetime of an AUTH_MODE=local access token, in seconds. */
  @Transform(toInt) @IsInt() @Min(10) @Max(86_400) ACCESS_TOKEN_TTL_S = 900;

  /** Lifetime of an AUTH_MODE=local refresh token, in seconds. */
  @Transform(toInt) @IsInt() @Min(60) @Max(365 * 86_400) REFRESH_TOKEN_TTL_S = 30 * 86_400;

  /** Failed sign-ins per username, and per client IP, within LOGIN_FAILURE_WINDOW_S before 429. */
  @Transform(toInt) @IsInt() @Min(1) @Max(1_000_000) LOGIN_FAILURES_PER_ACCOUNT = 10;

  @Transform(toInt) @IsInt() @Min(1) @Max(1_000_000) LOGIN_FAILURES_PER_IP = 50;

  @Transform(toInt) @IsInt() @Min(1) @Max(86_400) LOGIN_FAILURE_WINDOW_S = 900;

  /** Requests per minute per owner (per client IP when anonymous). */
  @Transform(toInt) @IsInt() @Min(1) @Max(1_000_000) RATE_LIMIT_PER_MINUTE = 600;

  /** Where the rate limiter counts: this process's memory, or PostgreSQL (shared by replicas). */
  @IsIn(RATE_LIMIT_STORES) RATE_LIMIT_STORE: (typeof RATE_LIMIT_STORES)[number] = 'memory';

  /** Failed authentications per minute per client IP before its requests get 429 for the rest of the minute. */
  @Transform(toInt) @IsInt() @Min(1) @Max(1_000_000) AUTH_FAILURES_PER_MINUTE = 30;

  @Transform(toInt) @IsInt() @Min(1) @Max(10_000) MAX_CONCURRENT_GENERATIONS_PER_OWNER = 8;

  @Transform(toInt) @IsInt() @Min(1) @Max(10_000_000) MAX_CONVERSATIONS_PER_OWNER = 100_000;

  /**
   * How long a deterministic reply (temperature 0 or a seed; the OpenAI-compatible door and
   * turns) is served from the response cache; 0 turns the cache off.
   */
  @Transform(toInt) @IsInt() @Min(0) @Max(30 * 24 * 3600) RESPONSE_CACHE_TTL_S = 0;

  /** Most replies the response cache holds; the oldest are evicted first. */
  @Transform(toInt) @IsInt() @Min(1) @Max(10_000_000) RESPONSE_CACHE_MAX_ENTRIES = 10_000;

  /** Generated titles and topics for untitled conversations after their first reply. */
  @Transform(toBool) @IsBoolean() TITLES = true;

  /** Alias that writes titles; unset = the alias that answered the conversation. */
  @Transform(emptyToUndefined) @IsOptional() @IsString() @MaxLength(100) TITLE_MODEL?: string;

  /** Longest a title call may take, retries included; it never holds up a reply. */
  @Transform(toInt) @IsInt() @Min(100) @Max(600_000) TITLE_TIMEOUT_MS = 15_000;

  /** Conversations inactive longer than this many days are deleted; unset = kept forever. */
  @Transform((arg) => toInt({ value: emptyToUndefined(arg) }))
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(36_500)
  RETENTION_DAYS?: number;

  /** How often each process looks for conversations past RETENTION_DAYS. */
  @Transform(toInt) @IsInt() @Min(100) @Max(86_400_000) RETENTION_SWEEP_MS = 3_600_000;

  /**
   * How often each process merges the search indexes' pending entries (0: never; PostgreSQL
   * then merges them at 4 MB, in whichever insert crosses it, or at vacuum).
   */
  @Transform(toInt) @IsInt() @Min(0) @Max(3_600_000) SEARCH_INDEX_MERGE_MS = 1_000;

  /** Fill messages.owner_id on rows stored before it existed (off: pause it; search stays correct). */
  @IsIn(SWITCHES) OWNER_BACKFILL: (typeof SWITCHES)[number] = 'on';

  /** Rolling summaries of what falls out of the prompt window (off: older messages are just dropped). */
  @IsIn(SWITCHES) SUMMARIES: (typeof SWITCHES)[number] = 'on';

  /** Alias that writes the summaries; unset = the conversation's own. */
  @Transform(emptyToUndefined) @IsOptional() @IsString() @MaxLength(100) SUMMARY_MODEL?: string;

  /** Most tokens a summary may take (its reply budget, and its share of each prompt). */
  @Transform(toInt) @IsInt() @Min(16) @Max(16_000) SUMMARY_MAX_TOKENS = 400;

  /** How long one summary job may take (all its calls together) before it is given up. */
  @Transform(toInt) @IsInt() @Min(100) @Max(3_600_000) SUMMARY_TIMEOUT_MS = 60_000;

  /** Where uploaded files' bytes live: PostgreSQL (file_chunks) or an S3-compatible bucket. */
  @IsIn(FILE_STORAGES) FILE_STORAGE: (typeof FILE_STORAGES)[number] = 'postgres';

  /** Largest file one upload may be, in bytes (413 `file_too_large` past it). */
  @Transform(toInt) @IsInt() @Min(1) @Max(5 * 1024 ** 3) FILE_MAX_BYTES = 50 * 1024 * 1024;

  /** Bytes of files one owner may keep (deduplicated content counts once). */
  @Transform(toInt) @IsInt() @Min(1) @Max(2 ** 50) FILE_QUOTA_BYTES = 1024 ** 3;

  /** Comma-separated MIME types an upload may be (sniffed from its bytes; `image/*` allowed); unset = the built-in list. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^\s*[\w.+-]+\/[\w.+*-]+(\s*,\s*[\w.+-]+\/[\w.+*-]+)*\s*$/, {
    message: 'must be comma-separated MIME types such as image/png,application/pdf,text/*',
  })
  FILE_ALLOWED_TYPES?: string;

  /** Longest a document's text extraction may take before it ends `failed`. */
  @Transform(toInt) @IsInt() @Min(100) @Max(3_600_000) FILE_EXTRACT_TIMEOUT_MS = 30_000;

  /** Heap (MB) the extraction worker may use; a PDF bomb past it ends `failed`, never the server. */
  @Transform(toInt) @IsInt() @Min(16) @Max(16_384) FILE_EXTRACT_MEMORY_MB = 256;

  /** Most characters of text one document may yield before it ends `failed` (`extract_too_much_text`). */
  @Transform(toInt) @IsInt() @Min(1) @Max(100_000_000) FILE_EXTRACT_MAX_CHARS = 2_000_000;

  /** A file no message references is deleted this long after upload (seconds, or `24h`, `7d`). */
  @Transform(toSeconds) @IsInt() @Min(1) @Max(10 * 365 * 86_400) FILE_ORPHAN_TTL = 86_400;

  /** How often each replica deletes orphaned files and takes over extractions a dead replica left. */
  @Transform(toInt) @IsInt() @Min(100) @Max(86_400_000) FILE_SWEEP_MS = 60_000;

  /** FILE_STORAGE=s3: the bucket, and where it is (unset endpoint: AWS itself). */
  @Transform(emptyToUndefined)
  @ValidateIf((env: Env) => env.FILE_STORAGE === 's3')
  @IsString({ message: 'S3_BUCKET is required when FILE_STORAGE=s3' })
  @MinLength(1)
  S3_BUCKET?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true })
  S3_ENDPOINT?: string;

  @IsString() @MinLength(1) S3_REGION = 'us-east-1';

  /** Unset: the AWS SDK's own credential chain (instance roles, AWS_* variables). */
  @Transform(emptyToUndefined) @IsOptional() @IsString() S3_ACCESS_KEY_ID?: string;

  @Transform(emptyToUndefined) @IsOptional() @IsString() S3_SECRET_ACCESS_KEY?: string;

  /** Path-style URLs (endpoint/bucket/key), as MinIO and most S3-compatible servers need. */
  @Transform(toBool) @IsBoolean() S3_FORCE_PATH_STYLE = false;

  /**
   * Comma-separated origins allowed by CORS (`*`: any); unset = none, but localhost pages
   * when AUTH_MODE=none on a loopback HOST (CorsPolicy).
   */
  @Transform(emptyToUndefined) @IsOptional() @IsString() CORS_ORIGINS?: string;

  /** Express "trust proxy": false, true, a hop count, or addresses/subnets. */
  @IsTrustProxy() TRUST_PROXY = 'false';

  /** How long a client may take to send a request's headers. */
  @Transform(toInt) @IsInt() @Min(100) @Max(600_000) HTTP_HEADERS_TIMEOUT_MS = 10_000;

  /**
   * How long a client may take to send a whole request, headers and body. Responses are
   * not limited by it: a stream runs as long as its reply.
   */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(3_600_000)
  @AtLeast('HTTP_HEADERS_TIMEOUT_MS')
  HTTP_REQUEST_TIMEOUT_MS = 30_000;
}

export class ConfigError extends Error {}

/** Never echoed in error messages. */
const SECRETS = new Set([
  'JWT_SECRET',
  'LOCAL_JWT_SECRET',
  'API_KEYS',
  'GROQ_API_KEY',
  'OPENAI_API_KEY',
  'ANTHROPIC_API_KEY',
  'FIREWORKS_API_KEY',
  'OPENROUTER_API_KEY',
  'TOGETHER_API_KEY',
  'DEEPSEEK_API_KEY',
  'MISTRAL_API_KEY',
  'DATABASE_URL',
  'S3_SECRET_ACCESS_KEY',
]);

/** Names that hold a secret whatever the variable (a models file's own key variables). */
const SECRET_NAME = /KEY|SECRET|TOKEN|PASSWORD/;

/**
 * Every variable of Env as it may be written down (a run manifest): secrets hidden (set or
 * not is kept), credentials and secret query values of URLs redacted.
 */
export function redactedEnv(env: Env): Record<string, unknown> {
  const shown: Record<string, unknown> = {};
  for (const key of Object.keys(new Env()).sort()) {
    const value = (env as unknown as Record<string, unknown>)[key];
    if (typeof value === 'string' && (SECRETS.has(key) || SECRET_NAME.test(key)))
      shown[key] = /^postgres/.test(value) ? redactUrl(value) : '***';
    else shown[key] = typeof value === 'string' ? redactUrl(value) : (value ?? null);
  }
  return shown;
}

function describe(errors: ValidationError[]): string[] {
  return errors.map((error) => {
    const reasons = Object.values(error.constraints ?? {}).join('; ');
    const shown = SECRETS.has(error.property)
      ? '(value hidden)'
      : JSON.stringify(typeof error.value === 'string' ? redactUrl(error.value) : error.value);
    return `${error.property}=${shown}: ${reasons}`;
  });
}

/** Validates raw environment variables; throws a ConfigError naming each bad variable. */
export function loadEnv(raw: NodeJS.ProcessEnv | Record<string, string | undefined>): Env {
  // Class fields are defined (ES2022+ semantics), so optional ones are listed here too.
  const known = Object.keys(new Env());
  const picked: Record<string, string> = {};
  for (const key of known) {
    const value = raw[key];
    if (value !== undefined) picked[key] = value;
  }
  const env = plainToInstance(Env, picked);
  const errors = validateSync(env, { whitelist: true, forbidUnknownValues: true });
  if (errors.length > 0) {
    throw new ConfigError(`Invalid configuration:\n  ${describe(errors).join('\n  ')}`);
  }
  return env;
}
