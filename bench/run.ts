/**
 * `npm run bench` — what the service adds on top of the LLM, measured against two
 * baselines in the same run: the same request sent straight to the upstream ("direct"),
 * and the floor (bench/floor-server.ts: the same durable work with only node:http and pg).
 * Rounds alternate service / floor / direct (rotating who goes first) and every figure is
 * the median over rounds. See bench/README.md.
 *
 *   npm run bench [-- --smoke] [--latency-ms N] [--token-delay-ms N] [--rounds N]
 *                 [--cpu-prof] [--only whole,ttft,history,chunks,memory,db]
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';

import { Pool } from 'pg';

import {
  BenchDatabase,
  createConversations,
  createLongConversation,
  DbCounters,
  longHistoryPrompt,
  readCounters,
  statementDelta,
  StatementDelta,
  trimConversation,
} from './lib/database';
import { LoadResult, runLoad, StreamObservation, streamTurn } from './lib/load';
import { mainThreadProfile, summarizeProfile } from './lib/cpu-profile';
import { collectGarbage } from './lib/inspector';
import { Child, Children, cpuMs, freePort, logTail, rssBytes, waitForHttp } from './lib/processes';
import {
  describeMachine,
  machineMarkdown,
  markdownTable,
  mb,
  ms,
  num,
  renderTable,
  Row,
  times,
  us,
  Verdict,
} from './lib/report';
import { median, rotate, summarize } from './lib/stats';
import { stampMessage } from './stamp-upstream';

const ROOT = path.resolve(__dirname, '..');
const RESULTS = path.join(__dirname, 'results');
const MODEL = 'fake-model';
const DEFAULT_SYSTEM_PROMPT =
  'You are a helpful assistant. Answer accurately and concisely, and say so when you do not know.';
const DB_POOL_SIZE = 20;
/** Seeded short messages in each fresh conversation of the load phases. */
const SEED_HISTORY = 6;
/** Long seeded messages (history figures): tokens each, so ~10 fill the 8k window. */
const LONG_MESSAGE_TOKENS = 700;
const HISTORY_SIZES = [10, 1000, 10_000] as const;
const SYSTEMS = ['service', 'floor', 'direct'] as const;
type SystemName = (typeof SYSTEMS)[number];
type Server = Exclude<SystemName, 'direct'>;

interface Config {
  rounds: number;
  warmupSec: number;
  c1Sec: number;
  c16Sec: number;
  c1Conversations: number;
  c16Conversations: number;
  ttftTurns: number;
  historyTurns: number;
  chunkStreams: number;
  chunkCount: number;
  chunkDelayMs: number;
  memoryStreams: number;
  /** How long all streams are held open together while RSS is sampled. */
  memoryHoldMs: number;
  memoryDelayMs: number;
  memoryAfterMs: number;
  dbTurns: number;
  dbStreamTurns: number;
  /** PostgreSQL flushes an idle backend's pg_stat_database counters within 10 s. */
  statsFlushWaitMs: number;
}

const FULL: Config = {
  rounds: 5,
  warmupSec: 1,
  c1Sec: 2,
  c16Sec: 3,
  c1Conversations: 32,
  c16Conversations: 256,
  ttftTurns: 100,
  historyTurns: 20,
  chunkStreams: 4,
  chunkCount: 100,
  chunkDelayMs: 5,
  memoryStreams: 1000,
  memoryHoldMs: 3000,
  memoryDelayMs: 1000,
  memoryAfterMs: 10_000,
  dbTurns: 200,
  dbStreamTurns: 100,
  statsFlushWaitMs: 11_000,
};

const SMOKE: Config = {
  rounds: 1,
  warmupSec: 0.3,
  c1Sec: 0.5,
  c16Sec: 0.5,
  c1Conversations: 8,
  c16Conversations: 64,
  ttftTurns: 10,
  historyTurns: 3,
  chunkStreams: 2,
  chunkCount: 20,
  chunkDelayMs: 5,
  memoryStreams: 50,
  memoryHoldMs: 500,
  memoryDelayMs: 100,
  memoryAfterMs: 1000,
  dbTurns: 20,
  dbStreamTurns: 10,
  statsFlushWaitMs: 0,
};

const PHASES = ['whole', 'ttft', 'history', 'chunks', 'memory', 'db'] as const;
type Phase = (typeof PHASES)[number];

interface Flags {
  smoke: boolean;
  latencyMs: number;
  tokenDelayMs: number;
  rounds?: number;
  cpuProf: boolean;
  only: Set<Phase>;
}

function parseFlags(argv: string[]): Flags {
  const flags: Flags = {
    smoke: false,
    latencyMs: 0,
    tokenDelayMs: 0,
    cpuProf: false,
    only: new Set(PHASES),
  };
  for (let i = 0; i < argv.length; i++) {
    const [name, inline] = argv[i].split('=', 2);
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${name} needs a value`);
      return v;
    };
    const count = (): number => {
      const n = Number(value());
      if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a whole number`);
      return n;
    };
    switch (name) {
      case '--smoke':
        flags.smoke = true;
        break;
      case '--latency-ms':
        flags.latencyMs = count();
        break;
      case '--token-delay-ms':
        flags.tokenDelayMs = count();
        break;
      case '--rounds':
        flags.rounds = Math.max(1, count());
        break;
      case '--cpu-prof':
        flags.cpuProf = true;
        break;
      case '--only': {
        const wanted = value().split(',');
        const unknown = wanted.filter((p) => !(PHASES as readonly string[]).includes(p));
        if (unknown.length)
          throw new Error(`unknown phase ${unknown.join(', ')}; known: ${PHASES.join(', ')}`);
        flags.only = new Set(wanted as Phase[]);
        break;
      }
      default:
        throw new Error(`unknown option ${argv[i]}`);
    }
  }
  return flags;
}

const progress = (line: string): void => {
  process.stderr.write(`[bench] ${line}\n`);
};

/** A server under test: the service or the floor, with the database it writes to. */
interface Target {
  name: Server;
  label: string;
  /** Completed turns, to put CPU profiles per turn. */
  served: number;
  /** Inspector port, for servers whose memory is measured (see liveMemory). */
  inspectPort?: number;
  origin: string;
  child: Child;
  pool: Pool;
  database: string;
}

interface RoundStat {
  n: number;
  p50: number;
  p99: number;
  errors: number;
  /** Turns (or requests) per second, for load runs. */
  rate?: number;
  /** CPU time (user + system) of the server process per completed turn, ms. */
  cpuMsPerTurn?: number;
}

type Series = Record<SystemName, RoundStat[]>;
const newSeries = (): Series => ({ service: [], floor: [], direct: [] });

function postJson(
  url: string,
  body: object,
  agent: http.Agent,
): Promise<{ status: number; ms: number }> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = http.request(url, {
      method: 'POST',
      agent,
      headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) },
    });
    req.setTimeout(60_000, () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.on('response', (res) => {
      res.resume();
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, ms: performance.now() - started }),
      );
    });
    req.end(payload);
  });
}

function firstLine(child: Child, timeoutMs = 60_000): Promise<string> {
  const stdout = child.process.stdout;
  if (!stdout) throw new Error(`${child.name} has no stdout pipe`);
  return new Promise((resolve, reject) => {
    const lines = readline.createInterface({ input: stdout });
    const timer = setTimeout(
      () => reject(new Error(`${child.name} did not start:\n${logTail(child.logPath)}`)),
      timeoutMs,
    );
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolve(line);
    });
    void child.exited.then(() =>
      reject(new Error(`${child.name} exited:\n${logTail(child.logPath)}`)),
    );
  });
}

/** The service's environment: everything it reads is set here, nothing inherited. */
function serviceEnv(vars: Record<string, string>): NodeJS.ProcessEnv {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(
      ([key]) =>
        !/^(PORT|HOST|DATABASE_URL|EMBEDDED_DB_|DB_POOL|DEFAULT_MODEL|GROQ_|LMSTUDIO_|MODELS_FILE|LLM_|LOG_|BODY_LIMIT|MESSAGE_MAX|SHUTDOWN_|TURN_CLAIM|GENERATION_MAX|SSE_|AUTH_|JWT_|API_KEYS|RATE_LIMIT|MAX_|CORS_|TRUST_PROXY)/.test(
          key,
        ),
    ),
  );
  return { ...inherited, NODE_ENV: 'production', ...vars };
}

async function main(): Promise<void> {
  const wallStart = performance.now();
  const flags = parseFlags(process.argv.slice(2));
  const config: Config = { ...(flags.smoke ? SMOKE : FULL) };
  if (flags.rounds) config.rounds = flags.rounds;
  if (!existsSync(path.join(ROOT, 'dist', 'main.js'))) {
    throw new Error('dist/main.js is missing: run `npm run bench`, which builds the service first');
  }
  const work = path.join(os.tmpdir(), `chat-bench-${randomBytes(4).toString('hex')}`);
  mkdirSync(work, { recursive: true });
  const profileDir = path.join(RESULTS, 'profiles');
  const profileArgs = (label: string): string[] => {
    if (!flags.cpuProf) return [];
    const dir = path.join(profileDir, label);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    return ['--cpu-prof', `--cpu-prof-dir=${dir}`];
  };

  const children = new Children();
  const pools: Pool[] = [];
  let database: BenchDatabase | undefined;
  let cleaning: Promise<void> | undefined;
  const cleanup = (): Promise<void> =>
    (cleaning ??= (async () => {
      await Promise.all(pools.map((pool) => pool.end().catch(() => undefined)));
      await children.stopAll();
      await database?.stop();
    })());
  const onSignal = (signal: NodeJS.Signals): void => {
    progress(`${signal}: stopping everything (logs in ${work})`);
    void cleanup().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  process.on('exit', () => children.killAllSync());

  let failed = false;
  let started: Target[] = [];
  try {
    progress(`${flags.smoke ? 'smoke' : 'full'} run, ${config.rounds} round(s); logs in ${work}`);
    database = await BenchDatabase.start(['bench_service', 'bench_floor'], progress);
    const db = database;
    const pool = (name: string): Pool => {
      const p = new Pool({ connectionString: db.url(name), max: 4 });
      p.on('error', () => undefined);
      pools.push(p);
      return p;
    };
    const servicePool = pool('bench_service');
    const floorPool = pool('bench_floor');
    const adminPool = pool('postgres');
    const pgVersion = (
      await adminPool.query<{ v: string }>("SELECT current_setting('server_version') AS v")
    ).rows[0].v;

    const upstreams = children.spawn(
      'upstreams',
      process.execPath,
      ['--import', 'tsx', path.join(__dirname, 'upstreams.ts')],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          BENCH_LATENCY_MS: String(flags.latencyMs),
          BENCH_TOKEN_DELAY_MS: String(flags.tokenDelayMs),
        },
        logPath: path.join(work, 'upstreams.log'),
        pipeStdout: true,
      },
    );
    const origins = JSON.parse(await firstLine(upstreams)) as { fake: string; stamp: string };

    const startService = async (
      label: string,
      upstream: string,
      inspectPort?: number,
    ): Promise<Target> => {
      const port = await freePort();
      const child = children.spawn(
        label,
        process.execPath,
        [...profileArgs(label), ...inspectArgs(inspectPort), 'dist/main.js'],
        {
          cwd: ROOT,
          env: serviceEnv({
            PORT: String(port),
            HOST: '127.0.0.1',
            DATABASE_URL: db.url('bench_service'),
            LMSTUDIO_BASE_URL: `${upstream}/v1`,
            LMSTUDIO_MODEL: MODEL,
            DEFAULT_MODEL: 'lmstudio/default',
            LOG_LEVEL: 'warn',
            DB_POOL_SIZE: String(DB_POOL_SIZE),
            SHUTDOWN_TIMEOUT_MS: '2000',
            // Limits meant for real users, not for one load generator acting as all of them.
            AUTH_MODE: 'none',
            RATE_LIMIT_PER_MINUTE: '1000000',
            MAX_CONCURRENT_GENERATIONS_PER_OWNER: '10000',
            MAX_CONVERSATIONS_PER_OWNER: '10000000',
          }),
          logPath: path.join(work, `${label}.log`),
        },
      );
      const origin = `http://127.0.0.1:${port}`;
      await waitForHttp(`${origin}/health`, child, 120_000);
      return {
        name: 'service',
        label,
        served: 0,
        inspectPort,
        origin,
        child,
        pool: servicePool,
        database: 'bench_service',
      };
    };
    const startFloor = async (
      label: string,
      upstream: string,
      inspectPort?: number,
    ): Promise<Target> => {
      const port = await freePort();
      const child = children.spawn(
        label,
        process.execPath,
        [
          ...profileArgs(label),
          ...inspectArgs(inspectPort),
          '--import',
          'tsx',
          path.join(__dirname, 'floor-server.ts'),
        ],
        {
          cwd: ROOT,
          env: {
            ...process.env,
            NODE_ENV: 'production',
            PORT: String(port),
            DATABASE_URL: db.url('bench_floor'),
            UPSTREAM_BASE_URL: `${upstream}/v1`,
            UPSTREAM_MODEL: MODEL,
            DB_POOL_SIZE: String(DB_POOL_SIZE),
          },
          logPath: path.join(work, `${label}.log`),
        },
      );
      const origin = `http://127.0.0.1:${port}`;
      await waitForHttp(`${origin}/health`, child);
      return {
        name: 'floor',
        label,
        served: 0,
        inspectPort,
        origin,
        child,
        pool: floorPool,
        database: 'bench_floor',
      };
    };
    // A: upstream = the FakeLlmServer; B: upstream = the chunk-stamping server.
    const [serviceA, floorA, serviceB, floorB] = await Promise.all([
      startService('service-a', origins.fake),
      startFloor('floor-a', origins.fake),
      // B's memory is measured: an idle inspector lets the bench force a full GC.
      startService('service-b', origins.stamp, await freePort()),
      startFloor('floor-b', origins.stamp, await freePort()),
    ]);
    started = [serviceA, floorA, serviceB, floorB];
    progress(`ready after ${((performance.now() - wallStart) / 1000).toFixed(1)} s`);

    const keepAlive = (): http.Agent => new http.Agent({ keepAlive: true, maxSockets: Infinity });
    const agents: Record<SystemName, http.Agent> = {
      service: keepAlive(),
      floor: keepAlive(),
      direct: keepAlive(),
    };
    const turnPath = (id: string): string => `/api/v1/conversations/${id}/messages`;
    const streamUrl = (target: Target, id: string): string =>
      `${target.origin}/api/v1/conversations/${id}/messages/stream`;
    const systemMessage = { role: 'system', content: DEFAULT_SYSTEM_PROMPT };
    // What the service sends upstream for a fresh load-phase conversation, give or take a turn.
    const loadHistory = Array.from({ length: SEED_HISTORY + 6 }, (_, s) =>
      s % 2 === 0
        ? { role: 'user', content: 'bench turn' }
        : { role: 'assistant', content: `Echo: bench turn [messages=${s + 1}]` },
    );
    const directMessages = [systemMessage, ...loadHistory, { role: 'user', content: 'bench turn' }];
    const directBody = { model: MODEL, max_tokens: 1024, messages: directMessages };
    const turnBody = JSON.stringify({ message: 'bench turn' });
    const targetsA: Record<Server, Target> = { service: serviceA, floor: floorA };
    const targetsB: Record<Server, Target> = { service: serviceB, floor: floorB };

    // ---- warm-up (not recorded): JIT, pools, keep-alive connections ----
    for (const target of [serviceA, floorA]) {
      const conversations = await createConversations(target.pool, 64, SEED_HISTORY);
      const warm = await runLoad({
        origin: target.origin,
        connections: 16,
        durationSec: config.warmupSec,
        body: turnBody,
        path: turnPath,
        conversations,
      });
      target.served += warm.latencies.length + 20;
      for (let i = 0; i < 20; i++) {
        await streamTurn(
          streamUrl(target, conversations[i]),
          { message: 'warm' },
          {
            agent: agents[target.name],
            protocol: 'service',
          },
        );
      }
    }
    await runLoad({
      origin: origins.fake,
      connections: 16,
      durationSec: config.warmupSec,
      body: JSON.stringify(directBody),
      path: '/v1/chat/completions',
    });
    for (const target of [serviceB, floorB]) {
      const conversations = await createConversations(target.pool, 4, 0);
      await Promise.all(
        conversations.map((id) =>
          streamTurn(
            streamUrl(target, id),
            { message: stampMessage({ chunks: 20, delayMs: 2 }) },
            {
              agent: agents[target.name],
              protocol: 'service',
            },
          ),
        ),
      );
      target.served += conversations.length;
    }

    const rows: Row[] = [];
    const figures: Record<string, unknown> = {};
    const verdict = (ok: boolean): Verdict => (ok ? 'pass' : 'miss');

    // ---- whole-reply turns: latency at concurrency 1 and 16, throughput ----
    if (flags.only.has('whole')) {
      const modes = [
        { key: 'c1', connections: 1, seconds: config.c1Sec, conversations: config.c1Conversations },
        {
          key: 'c16',
          connections: 16,
          seconds: config.c16Sec,
          conversations: config.c16Conversations,
        },
      ] as const;
      const series: Record<string, Series> = { c1: newSeries(), c16: newSeries() };
      const statusCodes: Record<SystemName, Record<string, number>> = {
        service: {},
        floor: {},
        direct: {},
      };
      for (let round = 0; round < config.rounds; round++) {
        for (const mode of modes) {
          for (const system of rotate(SYSTEMS, round)) {
            let result: LoadResult;
            let cpuMsPerTurn: number | undefined;
            if (system === 'direct') {
              result = await runLoad({
                origin: origins.fake,
                connections: mode.connections,
                durationSec: mode.seconds,
                body: JSON.stringify(directBody),
                path: '/v1/chat/completions',
              });
            } else {
              const target = targetsA[system];
              const conversations = await createConversations(
                target.pool,
                mode.conversations,
                SEED_HISTORY,
              );
              const cpuBefore = cpuMs(target.child.pid);
              result = await runLoad({
                origin: target.origin,
                connections: mode.connections,
                durationSec: mode.seconds,
                body: turnBody,
                path: turnPath,
                conversations,
              });
              // Let turns cut off by the end of the run finish before reading the CPU clock.
              await sleep(100);
              cpuMsPerTurn = (cpuMs(target.child.pid) - cpuBefore) / result.latencies.length;
              target.served += result.latencies.length;
            }
            for (const [code, count] of Object.entries(result.statusCodes)) {
              statusCodes[system][code] = (statusCodes[system][code] ?? 0) + count;
            }
            series[mode.key][system].push({
              ...summarize(result.latencies),
              errors: result.errors,
              rate: result.okInWindow / result.durationSec,
              cpuMsPerTurn,
            });
            await sleep(100);
          }
        }
        progress(`whole-reply round ${round + 1}/${config.rounds} done`);
      }
      const overhead = (s: Series, system: Server, key: 'p50' | 'p99'): number =>
        median(s[system].map((stat, i) => stat[key] - s.direct[i][key]));
      for (const mode of modes) {
        const s = series[mode.key];
        for (const key of ['p50', 'p99'] as const) {
          const service = overhead(s, 'service', key);
          const floor = overhead(s, 'floor', key);
          const ratio = service / floor;
          const limit = key === 'p50' ? 1.5 : 2;
          rows.push({
            figure: `whole-reply overhead ${key}, concurrency ${mode.connections}`,
            service: ms(service),
            floor: ms(floor),
            direct: ms(median(s.direct.map((stat) => stat[key]))),
            ratio: times(ratio),
            target: `≤ ${limit}× floor`,
            result: verdict(ratio <= limit),
          });
        }
      }
      const c16 = series.c16;
      const rate = (system: SystemName): number =>
        median(c16[system].map((stat) => stat.rate ?? 0));
      const errors = (system: SystemName): number =>
        [...series.c1[system], ...c16[system]].reduce((sum, stat) => sum + stat.errors, 0);
      const throughputRatio = rate('service') / rate('floor');
      rows.push({
        figure: `sustained turns/s, concurrency 16, ${config.c16Conversations} conversations`,
        service: `${num(rate('service'))}/s`,
        floor: `${num(rate('floor'))}/s`,
        direct: `${num(rate('direct'))}/s`,
        ratio: times(throughputRatio),
        target: '≥ 0.6× floor, 0 errors',
        result: verdict(throughputRatio >= 0.6 && errors('service') === 0),
      });
      const cpu = (system: Server): number =>
        median(c16[system].map((stat) => stat.cpuMsPerTurn ?? Number.NaN));
      rows.push({
        figure: 'server process CPU per whole-reply turn (concurrency 16)',
        service: ms(cpu('service')),
        floor: ms(cpu('floor')),
        direct: '',
        ratio: times(cpu('service') / cpu('floor')),
        target: 'report',
        result: 'report',
      });
      rows.push({
        figure: 'errors in all whole-reply runs (non-2xx, socket)',
        service: String(errors('service')),
        floor: String(errors('floor')),
        direct: String(errors('direct')),
        ratio: '',
        target: '0',
        result: verdict(errors('service') === 0),
      });
      figures.whole = { series, statusCodes };
    }

    // ---- time to first token of a streamed turn ----
    if (flags.only.has('ttft')) {
      const series = newSeries();
      const directStreamBody = {
        ...directBody,
        stream: true,
        stream_options: { include_usage: true },
      };
      for (let round = 0; round < config.rounds; round++) {
        for (const system of rotate(SYSTEMS, round)) {
          const observations: StreamObservation[] = [];
          let cpuMsPerTurn: number | undefined;
          if (system === 'direct') {
            for (let i = 0; i < config.ttftTurns; i++) {
              observations.push(
                await streamTurn(`${origins.fake}/v1/chat/completions`, directStreamBody, {
                  agent: agents.direct,
                  protocol: 'direct',
                }),
              );
            }
          } else {
            const target = targetsA[system];
            const conversations = await createConversations(target.pool, 16, SEED_HISTORY);
            const cpuBefore = cpuMs(target.child.pid);
            for (let i = 0; i < config.ttftTurns; i++) {
              const id = conversations[i % conversations.length];
              observations.push(
                await streamTurn(
                  streamUrl(target, id),
                  { message: 'bench turn' },
                  {
                    agent: agents[system],
                    protocol: 'service',
                  },
                ),
              );
            }
            cpuMsPerTurn = (cpuMs(target.child.pid) - cpuBefore) / config.ttftTurns;
            target.served += config.ttftTurns;
          }
          const ok = observations.filter(
            (o) => o.status === 200 && o.completed && o.ttftMs !== null,
          );
          series[system].push({
            ...summarize(ok.map((o) => o.ttftMs ?? 0)),
            errors: observations.length - ok.length,
            cpuMsPerTurn,
          });
        }
      }
      const overhead = (system: Server, key: 'p50' | 'p99'): number =>
        median(series[system].map((stat, i) => stat[key] - series.direct[i][key]));
      for (const key of ['p50', 'p99'] as const) {
        const service = overhead('service', key);
        const floor = overhead('floor', key);
        const errorCount = series.service.reduce((sum, stat) => sum + stat.errors, 0);
        rows.push({
          figure: `time-to-first-token overhead ${key}, streamed turn`,
          service: ms(service),
          floor: ms(floor),
          direct: ms(median(series.direct.map((stat) => stat[key]))),
          ratio: times(service / floor),
          target: key === 'p50' ? '≤ 1.5× floor' : 'report',
          result: key === 'p50' ? verdict(service / floor <= 1.5 && errorCount === 0) : 'report',
        });
      }
      const cpu = (system: Server): number =>
        median(series[system].map((stat) => stat.cpuMsPerTurn ?? Number.NaN));
      rows.push({
        figure: 'server process CPU per streamed turn (sequential)',
        service: ms(cpu('service')),
        floor: ms(cpu('floor')),
        direct: '',
        ratio: times(cpu('service') / cpu('floor')),
        target: 'report',
        result: 'report',
      });
      figures.ttft = series;
      progress('time-to-first-token done');
    }

    // ---- per-turn latency against history length ----
    if (flags.only.has('history')) {
      const conversations: Record<Server, Record<number, string>> = { service: {}, floor: {} };
      for (const system of ['service', 'floor'] as const) {
        for (const size of HISTORY_SIZES) {
          conversations[system][size] = await createLongConversation(
            targetsA[system].pool,
            size,
            LONG_MESSAGE_TOKENS,
          );
        }
      }
      for (const p of [servicePool, floorPool]) await p.query('VACUUM ANALYZE messages');
      const prompt = await longHistoryPrompt(servicePool, conversations.service[10], 10);
      const directHistoryBody = {
        model: MODEL,
        max_tokens: 1024,
        messages: [systemMessage, ...prompt, { role: 'user', content: 'history probe' }],
      };
      const series: Record<number, Series> = {};
      for (const size of HISTORY_SIZES) series[size] = newSeries();
      for (let round = 0; round < config.rounds; round++) {
        for (const size of HISTORY_SIZES) {
          for (const system of rotate(SYSTEMS, round)) {
            const latencies: number[] = [];
            let errors = 0;
            for (let i = 0; i < config.historyTurns; i++) {
              if (system === 'direct') {
                const r = await postJson(
                  `${origins.fake}/v1/chat/completions`,
                  directHistoryBody,
                  agents.direct,
                );
                if (r.status === 200) latencies.push(r.ms);
                else errors++;
                continue;
              }
              const target = targetsA[system];
              const id = conversations[system][size];
              const r = await postJson(
                `${target.origin}${turnPath(id)}`,
                { message: 'history probe' },
                agents[system],
              );
              if (r.status === 201) latencies.push(r.ms);
              else errors++;
              target.served++;
              await trimConversation(target.pool, id, size);
            }
            series[size][system].push({ ...summarize(latencies), errors });
          }
        }
      }
      const p50 = (size: number, system: SystemName): number =>
        median(series[size][system].map((stat) => stat.p50));
      for (const size of HISTORY_SIZES) {
        const last = size === 10_000;
        const ratio = p50(size, 'service') / p50(10, 'service');
        rows.push({
          figure: `turn latency p50, ${size.toLocaleString('en')} messages of history`,
          service: ms(p50(size, 'service')),
          floor: ms(p50(size, 'floor')),
          direct: ms(p50(size, 'direct')),
          ratio:
            size === 10
              ? ''
              : `${times(ratio)} of 10 (floor ${times(p50(size, 'floor') / p50(10, 'floor'))})`,
          target: last ? '≤ 1.2× the 10-message turn' : 'report',
          result: last ? verdict(ratio <= 1.2) : 'report',
        });
      }
      figures.history = series;
      progress('history length done');
    }

    // ---- delay from an upstream chunk to the same delta at the client ----
    if (flags.only.has('chunks')) {
      const series = newSeries();
      const message = stampMessage({ chunks: config.chunkCount, delayMs: config.chunkDelayMs });
      for (let round = 0; round < config.rounds; round++) {
        for (const system of rotate(SYSTEMS, round)) {
          let observations: StreamObservation[];
          if (system === 'direct') {
            const body = {
              model: MODEL,
              stream: true,
              stream_options: { include_usage: true },
              messages: [systemMessage, { role: 'user', content: message }],
            };
            observations = await Promise.all(
              Array.from({ length: config.chunkStreams }, () =>
                streamTurn(`${origins.stamp}/v1/chat/completions`, body, {
                  agent: agents.direct,
                  protocol: 'direct',
                  stamps: true,
                }),
              ),
            );
          } else {
            const target = targetsB[system];
            const conversations = await createConversations(target.pool, config.chunkStreams, 0);
            observations = await Promise.all(
              conversations.map((id) =>
                streamTurn(
                  streamUrl(target, id),
                  { message },
                  {
                    agent: agents[system],
                    protocol: 'service',
                    stamps: true,
                  },
                ),
              ),
            );
            target.served += conversations.length;
          }
          const delays = observations.flatMap((o) => o.chunkDelaysUs);
          const expected = config.chunkStreams * config.chunkCount;
          series[system].push({ ...summarize(delays), errors: expected - delays.length });
        }
      }
      for (const key of ['p50', 'p99'] as const) {
        const value = (system: SystemName): number =>
          median(series[system].map((stat) => stat[key]));
        // What the server adds: its delay minus the direct stream's, round by round.
        const added = (system: Server): number =>
          median(series[system].map((stat, i) => stat[key] - series.direct[i][key]));
        const limitUs = key === 'p50' ? 300 : 2000;
        rows.push({
          figure: `upstream chunk → client delta: delay added over direct, ${key}`,
          service: `+${us(added('service'))} (${us(value('service'))} in all)`,
          floor: `+${us(added('floor'))} (${us(value('floor'))} in all)`,
          direct: us(value('direct')),
          ratio: times(added('service') / added('floor')),
          target: `≤ ${limitUs / 1000} ms`,
          result: verdict(
            added('service') <= limitUs && series.service.every((s) => s.errors === 0),
          ),
        });
      }
      figures.chunks = series;
      progress('chunk delay done');
    }

    // ---- resident memory with many open streams ----
    if (flags.only.has('memory')) {
      const results: Partial<Record<Server, MemoryResult>> = {};
      for (const system of ['service', 'floor'] as const) {
        results[system] = await measureMemory(targetsB[system], config, streamUrl, origins.stamp);
        progress(`memory (${system}) done`);
      }
      const service = results.service as MemoryResult;
      const floor = results.floor as MemoryResult;
      rows.push({
        figure: 'RSS before the streams (after a full GC)',
        service: mb(service.baselineLive.rss),
        floor: mb(floor.baselineLive.rss),
        direct: '',
        ratio: times(service.baselineLive.rss / floor.baselineLive.rss),
        target: 'report',
        result: 'report',
      });
      rows.push({
        figure: `RSS with ${config.memoryStreams} concurrent open streams (peak)`,
        service: `${mb(service.peakRss)}${service.maxOpen < config.memoryStreams ? ` (only ${service.maxOpen} open at once)` : ''}`,
        floor: mb(floor.peakRss),
        direct: '',
        ratio: times(service.peakRss / floor.peakRss),
        target: '≤ 250 MB',
        result: verdict(
          service.peakRss <= 250 * 1024 ** 2 &&
            service.maxOpen === config.memoryStreams &&
            service.failed === 0,
        ),
      });
      rows.push({
        figure: `RSS ${config.memoryAfterMs / 1000} s after they closed (no GC forced)`,
        service: mb(service.afterRss),
        floor: mb(floor.afterRss),
        direct: '',
        ratio: '',
        target: 'report',
        result: 'report',
      });
      rows.push({
        figure: 'RSS after they closed, after a full GC',
        service: mb(service.afterLive.rss),
        floor: mb(floor.afterLive.rss),
        direct: '',
        ratio: `${times(service.afterLive.rss / service.baselineLive.rss)} of baseline (floor ${times(floor.afterLive.rss / floor.baselineLive.rss)})`,
        target: '≤ 1.25× baseline',
        result: verdict(service.afterLive.rss <= 1.25 * service.baselineLive.rss),
      });
      rows.push({
        figure: 'live heap after a full GC: baseline → after close',
        service: `${mb(service.baselineLive.heap)} → ${mb(service.afterLive.heap)}`,
        floor: `${mb(floor.baselineLive.heap)} → ${mb(floor.afterLive.heap)}`,
        direct: '',
        ratio: `${times(service.afterLive.heap / service.baselineLive.heap)} of baseline`,
        target: 'report',
        result: 'report',
      });
      rows.push({
        figure: `time to open ${config.memoryStreams} streams at once`,
        service: ms(service.openAllMs),
        floor: ms(floor.openAllMs),
        direct: '',
        ratio: times(service.openAllMs / floor.openAllMs),
        target: 'report',
        result: 'report',
      });
      figures.memory = results;
    }

    // ---- database round trips and commits per turn ----
    if (flags.only.has('db')) {
      const counts: Partial<Record<Server, DbCounts>> = {};
      const commitsBefore: Partial<Record<Server, number>> = {};
      const prepared: Partial<Record<Server, string[]>> = {};
      for (const system of ['service', 'floor'] as const) {
        prepared[system] = await createConversations(targetsA[system].pool, 16, SEED_HISTORY);
      }
      if (config.statsFlushWaitMs > 0) {
        progress(
          `waiting ${config.statsFlushWaitMs / 1000} s for PostgreSQL to flush its counters`,
        );
        await sleep(config.statsFlushWaitMs);
      }
      for (const system of ['service', 'floor'] as const) {
        const target = targetsA[system];
        commitsBefore[system] = (await readCounters(adminPool, target.database)).xactCommit;
      }
      for (const system of ['service', 'floor'] as const) {
        counts[system] = await countDbWork(
          targetsA[system],
          prepared[system] ?? [],
          config,
          adminPool,
          agents[system],
          streamUrl,
        );
      }
      if (config.statsFlushWaitMs > 0) {
        progress(
          `waiting ${config.statsFlushWaitMs / 1000} s for PostgreSQL to flush its counters`,
        );
        await sleep(config.statsFlushWaitMs);
        for (const system of ['service', 'floor'] as const) {
          const target = targetsA[system];
          const after = (await readCounters(adminPool, target.database)).xactCommit;
          const c = counts[system] as DbCounts;
          c.xactCommitPerTurn =
            (after - (commitsBefore[system] ?? 0)) / (config.dbTurns + config.dbStreamTurns);
        }
      }
      const service = counts.service as DbCounts;
      const floor = counts.floor as DbCounts;
      rows.push(
        {
          figure: 'DB statements (round trips) per whole-reply turn',
          service: num(service.statementsPerTurn, 2),
          floor: num(floor.statementsPerTurn, 2),
          direct: '',
          ratio: times(service.statementsPerTurn / floor.statementsPerTurn),
          target: 'report',
          result: 'report',
        },
        {
          figure: 'DB statements (round trips) per streamed turn',
          service: num(service.statementsPerStreamTurn, 2),
          floor: num(floor.statementsPerStreamTurn, 2),
          direct: '',
          ratio: times(service.statementsPerStreamTurn / floor.statementsPerStreamTurn),
          target: 'report',
          result: 'report',
        },
        {
          figure: 'DB execution time per whole-reply turn (pg_stat_statements)',
          service: ms(service.execMsPerTurn),
          floor: ms(floor.execMsPerTurn),
          direct: '',
          ratio: times(service.execMsPerTurn / floor.execMsPerTurn),
          target: 'report',
          result: 'report',
        },
        {
          figure: 'DB write commits (fsync) per turn',
          service: num(service.writeCommitsPerTurn, 2),
          floor: num(floor.writeCommitsPerTurn, 2),
          direct: '',
          ratio: times(service.writeCommitsPerTurn / floor.writeCommitsPerTurn),
          target: 'report',
          result: 'report',
        },
      );
      if (service.xactCommitPerTurn !== undefined && floor.xactCommitPerTurn !== undefined) {
        rows.push({
          figure: 'DB commits per turn (pg_stat_database.xact_commit)',
          service: num(service.xactCommitPerTurn, 2),
          floor: num(floor.xactCommitPerTurn, 2),
          direct: '',
          ratio: times(service.xactCommitPerTurn / floor.xactCommitPerTurn),
          target: 'report',
          result: 'report',
        });
      }
      figures.db = counts;
    }

    // ---- report ----
    const machine = describeMachine(
      `PostgreSQL ${pgVersion} (embedded, fsync on, synchronous_commit on)`,
    );
    const wallSec = (performance.now() - wallStart) / 1000;
    const table = markdownTable(rows);
    const misses = rows.filter((row) => row.result === 'miss');
    const settings = [
      `service measured: ${serviceVersion()}`,
      `mode: ${flags.smoke ? 'smoke (no thresholds)' : 'full'}; ${config.rounds} alternating rounds, medians reported`,
      `upstream: FakeLlmServer, latency ${flags.latencyMs} ms, token delay ${flags.tokenDelayMs} ms`,
      `load: autocannon, concurrency 1 (${config.c1Sec} s × ${config.c1Conversations} conversations) and 16 (${config.c16Sec} s × ${config.c16Conversations} conversations) per round; DB_POOL_SIZE ${DB_POOL_SIZE} for service and floor`,
      `wall time of bench/run.ts: ${wallSec.toFixed(0)} s`,
    ];
    const markdown = [
      `# Benchmark results${flags.smoke ? ' (smoke)' : ''}`,
      '',
      machineMarkdown(machine),
      '',
      ...settings.map((line) => `- ${line}`),
      '',
      table,
      '',
      flags.smoke
        ? 'Smoke run: too short to mean anything; it only proves the harness works.'
        : misses.length
          ? `Missed: ${misses.map((row) => row.figure).join('; ')}.`
          : 'Every target met.',
      '',
    ].join('\n');
    process.stdout.write(`\n${markdown}`);
    mkdirSync(RESULTS, { recursive: true });
    // Only a complete run replaces the committed results.
    const base = flags.smoke ? 'smoke' : flags.only.size === PHASES.length ? 'latest' : 'partial';
    writeFileSync(
      path.join(RESULTS, `${base}.json`),
      `${JSON.stringify({ machine, mode: flags.smoke ? 'smoke' : 'full', flags: { ...flags, only: [...flags.only] }, config, wallSec, rows, figures }, null, 2)}\n`,
    );
    writeFileSync(path.join(RESULTS, `${base}.md`), markdown);
    progress(`wrote bench/results/${base}.json and ${base}.md`);
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    await cleanup();
    if (!failed) rmSync(work, { recursive: true, force: true });
    else progress(`logs kept in ${work}`);
  }
  // The profiles are written as the servers exit, so they are read after the cleanup.
  if (flags.cpuProf) writeProfileSummary(profileDir, started);
}

/** The commit the service was built from, and whether src/ had uncommitted changes. */
function serviceVersion(): string {
  try {
    const git = (...args: string[]): string =>
      execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = git('status', '--porcelain', '--', 'src').split('\n').filter(Boolean);
    return `commit ${git('rev-parse', '--short', 'HEAD')}${dirty.length ? ` + uncommitted changes in ${dirty.map((line) => line.slice(3)).join(', ')}` : ''}`;
  } catch {
    return 'unknown (no git)';
  }
}

/** Where each server's main thread spent its time, by layer, per turn it served. */
function writeProfileSummary(profileDir: string, targets: Target[]): void {
  const lines = [
    '# CPU profiles by layer',
    '',
    'Main thread, start-up excluded; sampled time while not idle, so a syscall counts with the time it blocked. Per turn = over every turn the server completed in the run (for the B servers, streamed turns whose cost is mostly their deltas). `server process CPU per turn` in the results is the exact CPU figure.',
    '',
  ];
  for (const target of targets) {
    const file = mainThreadProfile(path.join(profileDir, target.label));
    if (!file) continue;
    const summary = summarizeProfile(file);
    const perTurn = (value: number): string =>
      target.served > 0 ? `${(value / target.served).toFixed(3)} ms` : 'n/a';
    lines.push(
      `## ${target.label}: ${summary.busyMs.toFixed(0)} ms busy over ${target.served} turns (${perTurn(summary.busyMs)} per turn)`,
      '',
      renderTable(
        ['layer', 'per turn', 'share'],
        summary.categories.map((c) => [
          c.name,
          perTurn(c.ms),
          `${((100 * c.ms) / summary.busyMs).toFixed(1)}%`,
        ]),
      ),
      '',
      `profile: ${path.relative(ROOT, file)}`,
      '',
    );
  }
  const text = lines.join('\n');
  writeFileSync(path.join(profileDir, 'summary.md'), text);
  process.stdout.write(`\n${text}`);
  progress(`wrote ${path.relative(ROOT, path.join(profileDir, 'summary.md'))}`);
}

interface MemoryResult {
  streams: number;
  /** V8 heap in use: before, with every stream open, and after they closed. */
  baselineHeap: number;
  allOpenHeap: number;
  afterHeap: number;
  /** What is still alive after a full garbage collection, before the streams and after. */
  baselineLive: LiveMemory;
  afterLive: LiveMemory;
  maxOpen: number;
  failed: number;
  /** How long it took until every stream was open, ms. */
  openAllMs: number;
  baselineRss: number;
  /** Highest RSS sampled while every stream was open. */
  allOpenRss: number;
  peakRss: number;
  afterRss: number;
  afterSamples: { afterMs: number; rss: number }[];
}

/**
 * Opens `memoryStreams` streams at once, holds them all open (the upstream keeps sending a
 * chunk every `memoryDelayMs` until its gate opens) while sampling the server's RSS, then
 * lets them finish and samples again as it settles.
 */
async function measureMemory(
  target: Target,
  config: Config,
  streamUrl: (target: Target, id: string) => string,
  stampOrigin: string,
): Promise<MemoryResult> {
  const conversations = await createConversations(target.pool, config.memoryStreams, 0);
  const baselineLive = await liveMemory(target);
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    samples.push(rssBytes(target.child.pid));
    await sleep(100);
  }
  const baselineRss = median(samples);
  const baselineHeap = await heapUsed(target);
  let open = 0;
  let maxOpen = 0;
  let settled = 0;
  let peakRss = baselineRss;
  let allOpenRss = 0;
  const sampler = setInterval(() => {
    const rss = rssBytes(target.child.pid);
    peakRss = Math.max(peakRss, rss);
    if (open === config.memoryStreams) allOpenRss = Math.max(allOpenRss, rss);
  }, 200);
  // No keep-alive: when a stream ends its connection goes too, as a browser tab's would.
  const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
  const gate = `${target.label}-${randomBytes(4).toString('hex')}`;
  const message = stampMessage({ chunks: 1, delayMs: config.memoryDelayMs, gate });
  const started = performance.now();
  const all = Promise.all(
    conversations.map(async (id) => {
      let opened = false;
      const observation = await streamTurn(
        streamUrl(target, id),
        { message },
        {
          agent,
          protocol: 'service',
          onOpen: () => {
            opened = true;
            open++;
            maxOpen = Math.max(maxOpen, open);
          },
        },
      ).catch(() => null);
      if (opened) open--;
      settled++;
      return observation;
    }),
  );
  const deadline = started + 120_000;
  while (
    open < config.memoryStreams &&
    settled < config.memoryStreams &&
    performance.now() < deadline
  ) {
    await sleep(50);
  }
  const openAllMs = performance.now() - started;
  await sleep(config.memoryHoldMs);
  allOpenRss = Math.max(allOpenRss, rssBytes(target.child.pid));
  const allOpenHeap = await heapUsed(target);
  await fetch(`${stampOrigin}/gates/${gate}/open`, { method: 'POST' });
  const observations = await all;
  clearInterval(sampler);
  peakRss = Math.max(peakRss, rssBytes(target.child.pid));
  agent.destroy();
  const afterSamples: { afterMs: number; rss: number }[] = [];
  const closed = performance.now();
  for (const at of [1000, 2000, 5000, 10_000].filter((t) => t <= config.memoryAfterMs)) {
    await sleep(Math.max(0, at - (performance.now() - closed)));
    afterSamples.push({ afterMs: at, rss: rssBytes(target.child.pid) });
  }
  const afterHeap = await heapUsed(target);
  const afterLive = await liveMemory(target);
  const failed = observations.filter((o) => !o || o.status !== 200 || !o.completed).length;
  target.served += config.memoryStreams - failed;
  return {
    streams: config.memoryStreams,
    baselineHeap,
    allOpenHeap,
    afterHeap,
    baselineLive,
    afterLive,
    maxOpen,
    failed,
    openAllMs,
    baselineRss,
    allOpenRss: allOpenRss || Number.NaN,
    peakRss,
    afterRss: afterSamples.at(-1)?.rss ?? Number.NaN,
    afterSamples,
  };
}

interface LiveMemory {
  heap: number;
  rss: number;
}

const inspectArgs = (port: number | undefined): string[] =>
  port === undefined ? [] : [`--inspect=127.0.0.1:${port}`];

/** Heap in use and RSS right after a full garbage collection (through the inspector). */
async function liveMemory(target: Target): Promise<LiveMemory> {
  if (target.inspectPort === undefined) return { heap: Number.NaN, rss: Number.NaN };
  try {
    await collectGarbage(target.inspectPort);
    await collectGarbage(target.inspectPort);
  } catch (error) {
    progress(`could not collect garbage in ${target.label}: ${String(error)}`);
    return { heap: Number.NaN, rss: Number.NaN };
  }
  return { heap: await heapUsed(target), rss: rssBytes(target.child.pid) };
}

/** V8 heap in use by a server: the service's Prometheus metric, the floor's health answer. */
async function heapUsed(target: Target): Promise<number> {
  try {
    if (target.name === 'floor') {
      const res = await fetch(`${target.origin}/health`);
      return ((await res.json()) as { heapUsed: number }).heapUsed;
    }
    const text = await (await fetch(`${target.origin}/metrics`)).text();
    const match = /^nodejs_heap_size_used_bytes(?:\{[^}]*\})? (\S+)/m.exec(text);
    return match ? Number(match[1]) : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

interface DbCounts {
  statementsPerTurn: number;
  statementsPerStreamTurn: number;
  writeCommitsPerTurn: number;
  /** Time PostgreSQL spent executing the turn's statements (pg_stat_statements), ms. */
  execMsPerTurn: number;
  execMsPerStreamTurn: number;
  xactCommitPerTurn?: number;
  wholeStatements: StatementDelta[];
  streamStatements: StatementDelta[];
}

/** Runs sequential turns and reads what they cost the database, from its own counters. */
async function countDbWork(
  target: Target,
  conversations: string[],
  config: Config,
  adminPool: Pool,
  agent: http.Agent,
  streamUrl: (target: Target, id: string) => string,
): Promise<DbCounts> {
  const total = (deltas: StatementDelta[]): number => deltas.reduce((sum, d) => sum + d.calls, 0);
  const execMs = (deltas: StatementDelta[]): number =>
    deltas.reduce((sum, d) => sum + d.calls * d.meanExecMs, 0);
  const before: DbCounters = await readCounters(adminPool, target.database);
  for (let i = 0; i < config.dbTurns; i++) {
    const id = conversations[i % conversations.length];
    const r = await postJson(
      `${target.origin}/api/v1/conversations/${id}/messages`,
      { message: 'db turn' },
      agent,
    );
    if (r.status !== 201) throw new Error(`${target.name}: turn answered ${r.status}`);
  }
  const middle = await readCounters(adminPool, target.database);
  for (let i = 0; i < config.dbStreamTurns; i++) {
    const id = conversations[i % conversations.length];
    const o = await streamTurn(
      streamUrl(target, id),
      { message: 'db turn' },
      { agent, protocol: 'service' },
    );
    if (!o.completed)
      throw new Error(`${target.name}: streamed turn did not complete (${o.status})`);
  }
  const after = await readCounters(adminPool, target.database);
  target.served += config.dbTurns + config.dbStreamTurns;
  const wholeStatements = statementDelta(before, middle);
  const streamStatements = statementDelta(middle, after);
  return {
    statementsPerTurn: total(wholeStatements) / config.dbTurns,
    statementsPerStreamTurn: total(streamStatements) / config.dbStreamTurns,
    execMsPerTurn: execMs(wholeStatements) / config.dbTurns,
    execMsPerStreamTurn: execMs(streamStatements) / config.dbStreamTurns,
    writeCommitsPerTurn:
      Number(after.nextXid - before.nextXid) / (config.dbTurns + config.dbStreamTurns),
    wholeStatements,
    streamStatements,
  };
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(
      `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
