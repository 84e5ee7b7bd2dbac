import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';

import { newId } from '../../common/ids';
import { AppConfig } from '../../config/app-config';
import { MetricsService } from '../../metrics/metrics.service';
import type { ChatMessage, LlmUsage, ToolCall } from '../llm.types';
import { RotatingLog } from './rotating-log';

/** Rotated interaction files kept beside the current one. */
const KEEP_ROTATED = 3;
/** Interaction lines that may wait for a slow disk before new ones are dropped. */
const MAX_QUEUED_BYTES = 4 * 1024 * 1024;

/** One provider call as `interactions.jsonl` holds it. */
export interface Interaction {
  time: string;
  correlationId: string | null;
  alias: string;
  provider: string;
  upstreamModel: string | null;
  mode: 'complete' | 'stream';
  latencyMs: number;
  ttftMs: number | null;
  usage: LlmUsage | null;
  finishReason: string | null;
  /** How many tools the request offered the model. */
  toolsOffered: number;
  /** The tools the model called: id and name, and the arguments only with LOG_MESSAGES=true. */
  toolCalls: (Pick<ToolCall, 'id' | 'name'> & { arguments?: string })[];
  /** `complete`, `failed` or `cancelled`. */
  outcome: 'complete' | 'failed' | 'cancelled';
  errorCode: string | null;
  /** Only with LOG_MESSAGES=true. */
  messages?: ChatMessage[];
  reply?: string;
}

/** Finds `name` in `from` or the nearest folder above it. */
function findUp(name: string, from: string): string | null {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, name))) return path.join(dir, name);
    if (path.dirname(dir) === dir) return null;
  }
}

function readOrNull(file: string): string | null {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return null;
  }
}

/**
 * The commit checked out where the process runs, read from .git without spawning git: a
 * detached HEAD, a loose ref, or a packed one (worktrees included); null otherwise.
 */
export function gitSha(from: string): string | null {
  const dotGit = findUp('.git', from);
  if (!dotGit) return null;
  const pointer = readOrNull(dotGit);
  const gitDir = pointer?.startsWith('gitdir:')
    ? path.resolve(path.dirname(dotGit), pointer.slice('gitdir:'.length).trim())
    : dotGit;
  const head = readOrNull(path.join(gitDir, 'HEAD'));
  if (!head) return null;
  if (/^[0-9a-f]{40,64}$/.test(head)) return head;
  const ref = /^ref: (\S+)$/.exec(head)?.[1];
  if (!ref) return null;
  const common = readOrNull(path.join(gitDir, 'commondir'));
  const commonDir = common ? path.resolve(gitDir, common) : gitDir;
  for (const dir of [gitDir, commonDir]) {
    const sha = readOrNull(path.join(dir, ref));
    if (sha && /^[0-9a-f]{40,64}$/.test(sha)) return sha;
  }
  const packed = readOrNull(path.join(commonDir, 'packed-refs')) ?? '';
  const line = packed.split('\n').find((l) => l.endsWith(` ${ref}`));
  return line?.split(' ')[0] ?? null;
}

/**
 * Run telemetry (RUNS_DIR): each start writes `<RUNS_DIR>/<run id>/manifest.json` (what
 * ran, how configured, secrets hidden) and appends one line per provider call to
 * `interactions.jsonl` beside it, rotated at RUNS_MAX_BYTES. Writes never hold up a turn:
 * lines are queued to one stream, and dropped (counted) when the disk falls behind.
 */
@Injectable()
export class RunTelemetry implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(RunTelemetry.name);
  readonly runId = newId();
  readonly runDir: string | null;
  private readonly logMessages: boolean;
  private log: RotatingLog | null = null;

  constructor(
    private readonly config: AppConfig,
    private readonly metrics: MetricsService,
  ) {
    const root = config.get('RUNS_DIR');
    this.runDir = root ? path.resolve(root, this.runId) : null;
    this.logMessages = config.get('LOG_MESSAGES');
  }

  get enabled(): boolean {
    return this.runDir !== null;
  }

  /** Whether lines carry the prompt and reply text. */
  get withMessages(): boolean {
    return this.logMessages;
  }

  async onModuleInit(): Promise<void> {
    if (!this.runDir) return;
    await mkdir(this.runDir, { recursive: true });
    await writeFile(
      path.join(this.runDir, 'manifest.json'),
      `${JSON.stringify(this.manifest(), null, 2)}\n`,
    );
    this.log = new RotatingLog({
      path: path.join(this.runDir, 'interactions.jsonl'),
      maxBytes: this.config.get('RUNS_MAX_BYTES'),
      keep: KEEP_ROTATED,
      maxQueuedBytes: MAX_QUEUED_BYTES,
      onError: (error) =>
        this.logger.warn({ err: error }, 'cannot write run interactions; dropping them'),
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.log?.close();
  }

  record(interaction: Interaction): void {
    if (this.log && !this.log.append(JSON.stringify(interaction)))
      this.metrics.recordRunInteractionDropped();
  }

  private manifest(): Record<string, unknown> {
    const packageFile = findUp('package.json', __dirname);
    const pkg = (packageFile ? JSON.parse(readFileSync(packageFile, 'utf8')) : {}) as {
      name?: string;
      version?: string;
      dependencies?: Record<string, string>;
    };
    const sha = gitSha(process.cwd());
    return {
      runId: this.runId,
      startedAt: new Date().toISOString(),
      ...(sha && { gitSha: sha }),
      name: pkg.name ?? null,
      version: pkg.version ?? null,
      node: process.version,
      dependencies: pkg.dependencies ?? {},
      config: this.config.redacted(),
    };
  }
}
