/**
 * Time to first token of a streamed turn (POST …/messages/stream): request sent → first
 * `message.delta`, sequential turns on the A servers, against the same streamed completion
 * sent straight to the FakeLlmServer.
 *
 * Reports the overhead over direct, p50 (target ≤ 1.3× the floor's, no errors) and p99,
 * and the server's CPU per streamed turn.
 */
import type http from 'node:http';

import { createConversations } from '../lib/database';
import { StreamObservation, streamTurn } from '../lib/load';
import { cpuMs } from '../lib/processes';
import { progress } from '../lib/progress';
import { ms, Row, times } from '../lib/report';
import { Bench, defineScenario } from '../lib/scenario';
import {
  medianCpu,
  medianOf,
  medianOverDirect,
  newSeries,
  RoundStat,
  Series,
  Server,
  systemsInRound,
  totalErrors,
  verdict,
} from '../lib/series';
import type { Target } from '../lib/servers';
import { summarize } from '../lib/stats';
import { DIRECT_BODY, SEED_HISTORY, streamUrl } from '../lib/turns';

interface TtftConfig {
  ttftTurns: number;
}

export const ttft = defineScenario<TtftConfig>({
  name: 'ttft',
  summary: 'time to first token of a streamed turn, overhead over direct',
  config: { full: { ttftTurns: 100 }, smoke: { ttftTurns: 10 } },
  async run(bench, config) {
    const series = newSeries();
    for (let round = 0; round < config.rounds; round++) {
      for (const system of systemsInRound(round)) {
        series[system].push(
          system === 'direct'
            ? summarizeTtft(await directStreams(bench, config.ttftTurns))
            : await serverStreams(bench.a[system], bench.agents[system], config.ttftTurns),
        );
      }
    }
    progress('time-to-first-token done');
    return { rows: ttftRows(series), figures: series };
  },
});

/** `turns` sequential streamed completions straight from the FakeLlmServer. */
export async function directStreams(bench: Bench, turns: number): Promise<StreamObservation[]> {
  const body = { ...DIRECT_BODY, stream: true, stream_options: { include_usage: true } };
  const observations: StreamObservation[] = [];
  for (let i = 0; i < turns; i++) {
    observations.push(
      await streamTurn(`${bench.upstreams.fake}/v1/chat/completions`, body, {
        agent: bench.agents.direct,
        protocol: 'direct',
      }),
    );
  }
  return observations;
}

/** `turns` sequential streamed turns through `target`: TTFT and CPU per turn. */
export async function serverStreams(
  target: Target,
  agent: http.Agent,
  turns: number,
): Promise<RoundStat> {
  const conversations = await createConversations(target.pool, 16, SEED_HISTORY);
  const cpuBefore = cpuMs(target.child.pid);
  const observations: StreamObservation[] = [];
  for (let i = 0; i < turns; i++) {
    const id = conversations[i % conversations.length];
    observations.push(
      await streamTurn(
        streamUrl(target, id),
        { message: 'bench turn' },
        { agent, protocol: 'service' },
      ),
    );
  }
  const cpuMsPerTurn = (cpuMs(target.child.pid) - cpuBefore) / turns;
  target.served += turns;
  return summarizeTtft(observations, cpuMsPerTurn);
}

export function summarizeTtft(observations: StreamObservation[], cpuMsPerTurn?: number): RoundStat {
  const ok = observations.filter((o) => o.status === 200 && o.completed && o.ttftMs !== null);
  return {
    ...summarize(ok.map((o) => o.ttftMs ?? 0)),
    errors: observations.length - ok.length,
    cpuMsPerTurn,
  };
}

function ttftRows(series: Series): Row[] {
  const rows = (['p50', 'p99'] as const).map((key): Row => {
    const service = medianOverDirect(series, 'service', key);
    const floor = medianOverDirect(series, 'floor', key);
    const errorCount = totalErrors(series.service);
    return {
      figure: `time-to-first-token overhead ${key}, streamed turn`,
      service: ms(service),
      floor: ms(floor),
      direct: ms(medianOf(series.direct, key)),
      ratio: times(service / floor),
      target: key === 'p50' ? '≤ 1.3× floor' : 'report',
      result: key === 'p50' ? verdict(service / floor <= 1.3 && errorCount === 0) : 'report',
    };
  });
  const cpu = (system: Server): number => medianCpu(series, system);
  rows.push({
    figure: 'server process CPU per streamed turn (sequential)',
    service: ms(cpu('service')),
    floor: ms(cpu('floor')),
    direct: '',
    ratio: times(cpu('service') / cpu('floor')),
    target: 'report',
    result: 'report',
  });
  return rows;
}
