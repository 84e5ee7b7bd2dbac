/**
 * Several replicas on one PostgreSQL. Starts three more instances of the service on the
 * stamping upstream and the service's database: `single` configured for one process
 * (limits in memory, checkpoints every 60 s) and two replicas configured for many
 * (RATE_LIMIT_STORE=postgres, checkpoints every second).
 *
 * Reports, in alternating rounds:
 * - what the shared limiter and the checkpoints cost: CPU per whole-reply turn and turns/s
 *   at concurrency 16 on one replica vs `single` (target ≤ 1.1×), and CPU per second of
 *   open streams (checkpoints write their text) vs `single` (target ≤ 1.1×);
 * - throughput of two replicas (concurrency 8 each, at once) vs one (concurrency 16);
 * - cancel across replicas: a stream runs on replica 1, `POST …/cancel` goes to replica 2;
 *   time until the upstream sees its request aborted (target p99 ≤ 200 ms) and until the
 *   cancel answers;
 * - resume across replicas: `GET …/generation/events` with `Last-Event-ID` on replica 2 of a
 *   stream running on replica 1; time to the first replayed event.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

import { createConversations } from '../lib/database';
import { LoadResult, runLoad } from '../lib/load';
import { cpuMs } from '../lib/processes';
import { progress } from '../lib/progress';
import { ms, num, reportRow, Row, times } from '../lib/report';
import { Bench, defineScenario } from '../lib/scenario';
import { verdict } from '../lib/series';
import type { Target } from '../lib/servers';
import { openSse, SseStream } from '../lib/sse-client';
import { median, percentile } from '../lib/stats';
import { keepAliveAgent, SEED_HISTORY, streamUrl, TURN_BODY, turnPath } from '../lib/turns';
import { stampMessage } from '../stamp-upstream';

interface ReplicasConfig {
  replicaLoadSec: number;
  replicaConversations: number;
  checkpointStreams: number;
  checkpointHoldMs: number;
  crossTrials: number;
}

const SINGLE_ENV = { RATE_LIMIT_STORE: 'memory', CHECKPOINT_MS: '60000' };
const CLUSTER_ENV = { RATE_LIMIT_STORE: 'postgres', CHECKPOINT_MS: '1000' };

interface Instances {
  single: Target;
  one: Target;
  two: Target;
}

interface LoadStat {
  rate: number;
  cpuMsPerTurn: number;
  errors: number;
}

interface Figures {
  limiter: { single: LoadStat[]; cluster: LoadStat[] };
  checkpoints: { single: number[]; cluster: number[] };
  scale: { one: number[]; two: number[]; errors: number };
  cancel: { abortMs: number[]; answerMs: number[]; failed: number };
  resume: { firstEventMs: number[]; failed: number };
}

export const replicas = defineScenario<ReplicasConfig>({
  name: 'replicas',
  summary: 'two replicas vs one, shared limiter and checkpoint cost, cancel and resume across',
  config: {
    full: {
      replicaLoadSec: 3,
      replicaConversations: 256,
      checkpointStreams: 200,
      checkpointHoldMs: 3000,
      crossTrials: 40,
    },
    smoke: {
      replicaLoadSec: 0.5,
      replicaConversations: 32,
      checkpointStreams: 10,
      checkpointHoldMs: 1200,
      crossTrials: 3,
    },
  },
  settings: (config) => [
    `replicas: three more service processes on one database (one for a single process: ${JSON.stringify(SINGLE_ENV)}; two replicas: ${JSON.stringify(CLUSTER_ENV)}); ${config.replicaLoadSec} s loads at concurrency 16, ${config.checkpointStreams} held streams for ${config.checkpointHoldMs} ms, ${config.crossTrials} cancel and resume trials`,
  ],
  async run(bench, config) {
    const instances = await startInstances(bench);
    const figures: Figures = {
      limiter: { single: [], cluster: [] },
      checkpoints: { single: [], cluster: [] },
      scale: { one: [], two: [], errors: 0 },
      cancel: { abortMs: [], answerMs: [], failed: 0 },
      resume: { firstEventMs: [], failed: 0 },
    };
    for (let round = 0; round < config.rounds; round++) {
      await measureRound(bench, instances, config, figures, round);
      progress(`replicas round ${round + 1}/${config.rounds} done`);
    }
    await crossReplica(bench, instances, config, figures);
    progress('replicas: cancel and resume across replicas done');
    for (const target of [instances.single, instances.one, instances.two])
      await bench.servers.stop(target);
    return { rows: replicaRows(figures), figures };
  },
});

async function startInstances(bench: Bench): Promise<Instances> {
  const stamp = bench.upstreams.stamp;
  const [single, one, two] = await Promise.all([
    bench.servers.service('single', stamp, { env: SINGLE_ENV }),
    bench.servers.service('replica-1', stamp, { env: CLUSTER_ENV }),
    bench.servers.service('replica-2', stamp, { env: CLUSTER_ENV }),
  ]);
  // Warm-up, not recorded: JIT, pools and keep-alive connections of the new processes.
  const warm = { replicaLoadSec: 1, replicaConversations: 64 } as ReplicasConfig;
  await Promise.all([single, one, two].map((target) => wholeLoad(target, 4, warm)));
  return { single, one, two };
}

/** One round: the cost figures and the scale-out figures, who goes first alternating. */
async function measureRound(
  bench: Bench,
  { single, one, two }: Instances,
  config: ReplicasConfig,
  figures: Figures,
  round: number,
): Promise<void> {
  const order = round % 2 === 0 ? [single, one] : [one, single];
  for (const target of order) {
    const side = target === single ? 'single' : 'cluster';
    figures.limiter[side].push(await wholeLoad(target, 16, config));
    figures.checkpoints[side].push(await heldStreamsCpu(bench, target, config));
  }
  const alone = await wholeLoad(one, 16, config);
  const [first, second] = await Promise.all([wholeLoad(one, 8, config), wholeLoad(two, 8, config)]);
  figures.scale.one.push(alone.rate);
  figures.scale.two.push(first.rate + second.rate);
  figures.scale.errors += alone.errors + first.errors + second.errors;
}

/** Whole-reply turns at `connections` on fresh conversations: turns/s and CPU per turn. */
async function wholeLoad(
  target: Target,
  connections: number,
  config: ReplicasConfig,
): Promise<LoadStat> {
  const count = Math.round((config.replicaConversations * connections) / 16);
  const conversations = await createConversations(target.pool, count, SEED_HISTORY);
  const cpuBefore = cpuMs(target.child.pid);
  const result: LoadResult = await runLoad({
    origin: target.origin,
    connections,
    durationSec: config.replicaLoadSec,
    body: TURN_BODY,
    path: turnPath,
    conversations,
  });
  await sleep(100);
  const cpuMsPerTurn = (cpuMs(target.child.pid) - cpuBefore) / result.latencies.length;
  target.served += result.latencies.length;
  return { rate: result.okInWindow / result.durationSec, cpuMsPerTurn, errors: result.errors };
}

/**
 * Holds `checkpointStreams` streams open (a chunk every 100 ms) for `checkpointHoldMs`, and
 * returns the server's CPU ms per stream-second over the hold, while every stream is open.
 */
async function heldStreamsCpu(
  bench: Bench,
  target: Target,
  config: ReplicasConfig,
): Promise<number> {
  const conversations = await createConversations(target.pool, config.checkpointStreams, 0);
  const agent = keepAliveAgent();
  const gate = `cp-${target.label}-${randomBytes(4).toString('hex')}`;
  const message = stampMessage({ chunks: 1, delayMs: 100, gate });
  const streams = conversations.map((id) =>
    openSse(streamUrl(target, id), { method: 'POST', body: { message }, agent }),
  );
  await Promise.all(streams.map((s) => s.waitFor(1, 'message.delta')));
  const cpuBefore = cpuMs(target.child.pid);
  await sleep(config.checkpointHoldMs);
  const cpu = cpuMs(target.child.pid) - cpuBefore;
  await fetch(`${bench.upstreams.stamp}/gates/${gate}/open`, { method: 'POST' });
  await Promise.all(streams.map((s) => s.ended));
  agent.destroy();
  target.served += streams.length;
  return cpu / ((streams.length * config.checkpointHoldMs) / 1000);
}

/** Cancel and resume trials: a stream on replica 1, the request to replica 2. */
async function crossReplica(
  bench: Bench,
  { one, two }: Instances,
  config: ReplicasConfig,
  figures: Figures,
): Promise<void> {
  // No keep-alive: each stream gets its own connection, as a browser tab's would.
  const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
  const conversations = await createConversations(one.pool, config.crossTrials * 2, 2);
  for (let i = 0; i < config.crossTrials; i++) {
    const trial: Trial = { bench, runner: one, other: two, agent, figures };
    await cancelTrial(trial, conversations[2 * i]).catch((error: unknown) => {
      figures.cancel.failed++;
      progress(`cancel trial failed: ${String(error)}`);
    });
    await resumeTrial(trial, conversations[2 * i + 1]).catch((error: unknown) => {
      figures.resume.failed++;
      progress(`resume trial failed: ${String(error)}`);
    });
  }
  agent.destroy();
}

/** What a trial across replicas uses: the turn runs on `runner`, requests go to `other`. */
interface Trial {
  bench: Bench;
  runner: Target;
  other: Target;
  agent: http.Agent;
  figures: Figures;
}

/** A gated stream running on the trial's runner, some deltas already out. */
async function runningStream(
  trial: Trial,
  conversationId: string,
  gate: string,
): Promise<SseStream> {
  const message = stampMessage({ chunks: 1, delayMs: 20, gate });
  const stream = openSse(streamUrl(trial.runner, conversationId), {
    method: 'POST',
    body: { message },
    agent: trial.agent,
  });
  await stream.waitFor(2, 'message.delta');
  return stream;
}

async function cancelTrial(trial: Trial, conversationId: string): Promise<void> {
  const { bench, runner, other, figures } = trial;
  const gate = `cancel-${randomBytes(6).toString('hex')}`;
  const stream = await runningStream(trial, conversationId, gate);
  const sentNs = process.hrtime.bigint();
  const sent = performance.now();
  const res = await fetch(`${other.origin}/api/v1/conversations/${conversationId}/cancel`, {
    method: 'POST',
  });
  const answered = performance.now() - sent;
  await stream.ended;
  const abort = await fetch(`${bench.upstreams.stamp}/aborts/${gate}`);
  if (res.status !== 200 || abort.status !== 200) throw new Error('cancel failed');
  const { ns } = (await abort.json()) as { ns: string };
  figures.cancel.abortMs.push(Number(BigInt(ns) - sentNs) / 1e6);
  figures.cancel.answerMs.push(answered);
  runner.served++;
}

async function resumeTrial(trial: Trial, conversationId: string): Promise<void> {
  const { bench, runner, other, figures } = trial;
  const gate = `resume-${randomBytes(6).toString('hex')}`;
  const stream = await runningStream(trial, conversationId, gate);
  stream.close();
  const lastId = stream.frames.at(-1)?.id ?? '0';
  const sent = performance.now();
  const resumed = openSse(
    `${other.origin}/api/v1/conversations/${conversationId}/generation/events`,
    { method: 'GET', headers: { 'Last-Event-ID': lastId }, agent: trial.agent },
  );
  await resumed.waitFor(1);
  figures.resume.firstEventMs.push(resumed.frames[0].at - sent);
  await fetch(`${bench.upstreams.stamp}/gates/${gate}/open`, { method: 'POST' });
  await resumed.ended;
  if (resumed.frames.at(-1)?.event !== 'message.completed') throw new Error('resume incomplete');
  runner.served++;
}

function replicaRows(f: Figures): Row[] {
  const med = (stats: LoadStat[], key: keyof LoadStat): number => median(stats.map((s) => s[key]));
  const cpuRatio = med(f.limiter.cluster, 'cpuMsPerTurn') / med(f.limiter.single, 'cpuMsPerTurn');
  const rateRatio = med(f.limiter.single, 'rate') / med(f.limiter.cluster, 'rate');
  const checkpointRatio = median(f.checkpoints.cluster) / median(f.checkpoints.single);
  const p = (values: number[], at: number): number => percentile(values, at);
  return [
    {
      ...reportRow(
        'replica (shared limiter, checkpoints) CPU per whole-reply turn vs single process',
        ms(med(f.limiter.cluster, 'cpuMsPerTurn')),
        ms(med(f.limiter.single, 'cpuMsPerTurn')),
        times(cpuRatio),
      ),
      target: '≤ 1.1× single',
      result: verdict(cpuRatio <= 1.1),
    },
    {
      ...reportRow(
        'replica turns/s at concurrency 16 vs single process (single ÷ replica)',
        `${num(med(f.limiter.cluster, 'rate'))}/s`,
        `${num(med(f.limiter.single, 'rate'))}/s`,
        times(rateRatio),
      ),
      target: '≤ 1.1× single',
      result: verdict(rateRatio <= 1.1),
    },
    {
      ...reportRow(
        'replica CPU per second of an open stream (checkpoints) vs single process',
        ms(median(f.checkpoints.cluster)),
        ms(median(f.checkpoints.single)),
        times(checkpointRatio),
      ),
      target: '≤ 1.1× single',
      result: verdict(checkpointRatio <= 1.1),
    },
    reportRow(
      `turns/s, two replicas (c8 each) vs one (c16); ${f.scale.errors} errors`,
      `${num(median(f.scale.two))}/s`,
      `${num(median(f.scale.one))}/s`,
      times(median(f.scale.two) / median(f.scale.one)),
    ),
    {
      ...reportRow(
        `cancel on the other replica → upstream aborted, p50 / p99 (${f.cancel.failed} failed)`,
        `${ms(p(f.cancel.abortMs, 50))} / ${ms(p(f.cancel.abortMs, 99))}`,
        '',
        '',
      ),
      target: 'p99 ≤ 200 ms',
      result: verdict(p(f.cancel.abortMs, 99) <= 200 && f.cancel.failed === 0),
    },
    reportRow(
      'cancel on the other replica → its answer (reply stored), p50 / p99',
      `${ms(p(f.cancel.answerMs, 50))} / ${ms(p(f.cancel.answerMs, 99))}`,
      '',
      '',
    ),
    reportRow(
      `resume on the other replica → first replayed event, p50 / p99 (${f.resume.failed} failed)`,
      `${ms(p(f.resume.firstEventMs, 50))} / ${ms(p(f.resume.firstEventMs, 99))}`,
      '',
      '',
    ),
  ];
}
