/**
 * Whole-reply turns (POST …/messages, the reply as one JSON body) under autocannon load,
 * at concurrency 1 and 16, on the A servers (FakeLlmServer upstream). Each request takes
 * a fresh conversation no other request is using (a 409 would count as an error).
 *
 * Reports, per concurrency, the overhead over the direct call of the same percentile
 * (targets: p50 ≤ 1.3×, p99 ≤ 1.5× the floor's), the sustained turns/s at concurrency 16
 * (≥ 0.7× the floor's, no errors), the server's CPU per turn (≤ 2× the floor's) and the
 * error count.
 */
import { setTimeout as sleep } from 'node:timers/promises';

import { createConversations } from '../lib/database';
import { LoadResult, runLoad } from '../lib/load';
import { cpuMs } from '../lib/processes';
import { progress } from '../lib/progress';
import { ms, num, Row, times } from '../lib/report';
import { Bench, defineScenario } from '../lib/scenario';
import {
  medianCpu,
  medianOf,
  medianOverDirect,
  newSeries,
  Series,
  SystemName,
  systemsInRound,
  totalErrors,
  verdict,
} from '../lib/series';
import { DB_POOL_SIZE } from '../lib/servers';
import { DIRECT_BODY, SEED_HISTORY, TURN_BODY, turnPath } from '../lib/turns';
import { median, summarize } from '../lib/stats';

interface WholeConfig {
  c1Sec: number;
  c16Sec: number;
  c1Conversations: number;
  c16Conversations: number;
}

interface Mode {
  key: 'c1' | 'c16';
  connections: number;
  seconds: number;
  conversations: number;
}

type StatusCodes = Record<SystemName, Record<string, number>>;

const modes = (config: WholeConfig): Mode[] => [
  { key: 'c1', connections: 1, seconds: config.c1Sec, conversations: config.c1Conversations },
  { key: 'c16', connections: 16, seconds: config.c16Sec, conversations: config.c16Conversations },
];

export const whole = defineScenario<WholeConfig>({
  name: 'whole',
  summary: 'whole-reply turns: overhead over direct at concurrency 1 and 16, turns/s, CPU per turn',
  config: {
    full: { c1Sec: 2, c16Sec: 3, c1Conversations: 32, c16Conversations: 256 },
    smoke: { c1Sec: 0.5, c16Sec: 0.5, c1Conversations: 8, c16Conversations: 64 },
  },
  settings: (config) => [
    `load: autocannon, concurrency 1 (${config.c1Sec} s × ${config.c1Conversations} conversations) and 16 (${config.c16Sec} s × ${config.c16Conversations} conversations) per round; DB_POOL_SIZE ${DB_POOL_SIZE} for service and floor`,
  ],
  async run(bench, config) {
    const series: Record<Mode['key'], Series> = { c1: newSeries(), c16: newSeries() };
    const statusCodes: StatusCodes = { service: {}, floor: {}, direct: {} };
    for (let round = 0; round < config.rounds; round++) {
      for (const mode of modes(config)) {
        for (const system of systemsInRound(round)) {
          const { result, cpuMsPerTurn } = await loadRun(bench, system, mode);
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
    const rows = [...overheadRows(series, config), ...loadRows(series, config)];
    return { rows, figures: { series, statusCodes } };
  },
});

/** One load run of `mode` against one system; for a server, its CPU time per turn too. */
async function loadRun(
  bench: Bench,
  system: SystemName,
  mode: Mode,
): Promise<{ result: LoadResult; cpuMsPerTurn?: number }> {
  const load = { connections: mode.connections, durationSec: mode.seconds };
  if (system === 'direct') {
    const body = JSON.stringify(DIRECT_BODY);
    const path = '/v1/chat/completions';
    return { result: await runLoad({ origin: bench.upstreams.fake, ...load, body, path }) };
  }
  const target = bench.a[system];
  const conversations = await createConversations(target.pool, mode.conversations, SEED_HISTORY);
  const cpuBefore = cpuMs(target.child.pid);
  const result = await runLoad({
    origin: target.origin,
    ...load,
    body: TURN_BODY,
    path: turnPath,
    conversations,
  });
  // Let turns cut off by the end of the run finish before reading the CPU clock.
  await sleep(100);
  const cpuMsPerTurn = (cpuMs(target.child.pid) - cpuBefore) / result.latencies.length;
  target.served += result.latencies.length;
  return { result, cpuMsPerTurn };
}

function overheadRows(series: Record<Mode['key'], Series>, config: WholeConfig): Row[] {
  return modes(config).flatMap((mode) =>
    (['p50', 'p99'] as const).map((key): Row => {
      const s = series[mode.key];
      const service = medianOverDirect(s, 'service', key);
      const floor = medianOverDirect(s, 'floor', key);
      const limit = key === 'p50' ? 1.3 : 1.5;
      return {
        figure: `whole-reply overhead ${key}, concurrency ${mode.connections}`,
        service: ms(service),
        floor: ms(floor),
        direct: ms(medianOf(s.direct, key)),
        ratio: times(service / floor),
        target: `≤ ${limit}× floor`,
        result: verdict(service / floor <= limit),
      };
    }),
  );
}

function loadRows(series: Record<Mode['key'], Series>, config: WholeConfig): Row[] {
  const c16 = series.c16;
  const rate = (system: SystemName): number => median(c16[system].map((stat) => stat.rate ?? 0));
  const errors = (system: SystemName): number =>
    totalErrors([...series.c1[system], ...c16[system]]);
  const throughputRatio = rate('service') / rate('floor');
  const cpu = { service: medianCpu(c16, 'service'), floor: medianCpu(c16, 'floor') };
  return [
    {
      figure: `sustained turns/s, concurrency 16, ${config.c16Conversations} conversations`,
      service: `${num(rate('service'))}/s`,
      floor: `${num(rate('floor'))}/s`,
      direct: `${num(rate('direct'))}/s`,
      ratio: times(throughputRatio),
      target: '≥ 0.7× floor, 0 errors',
      result: verdict(throughputRatio >= 0.7 && errors('service') === 0),
    },
    {
      figure: 'server process CPU per whole-reply turn (concurrency 16)',
      service: ms(cpu.service),
      floor: ms(cpu.floor),
      direct: '',
      ratio: times(cpu.service / cpu.floor),
      target: '≤ 2× floor',
      result: verdict(cpu.service / cpu.floor <= 2),
    },
    {
      figure: 'errors in all whole-reply runs (non-2xx, socket)',
      service: String(errors('service')),
      floor: String(errors('floor')),
      direct: String(errors('direct')),
      ratio: '',
      target: '0',
      result: verdict(errors('service') === 0),
    },
  ];
}
