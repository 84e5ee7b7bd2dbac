/**
 * Delay from an upstream chunk to the same delta at the client, on the B servers: the
 * stamping upstream puts `process.hrtime.bigint()` (CLOCK_MONOTONIC, shared by every
 * process) in each chunk and the client reads the same clock when the delta arrives.
 * A few concurrent streams per round; direct: the same streams read from the upstream.
 *
 * Reports the delay the server adds over direct (and the total), p50 (target ≤ 0.3 ms)
 * and p99 (≤ 2 ms), every chunk delivered.
 */
import type http from 'node:http';

import { createConversations } from '../lib/database';
import { StreamObservation, streamTurn } from '../lib/load';
import { progress } from '../lib/progress';
import { Row, times, us } from '../lib/report';
import { Bench, defineScenario } from '../lib/scenario';
import {
  medianOf,
  medianOverDirect,
  newSeries,
  RoundStat,
  Series,
  Server,
  SystemName,
  systemsInRound,
  verdict,
} from '../lib/series';
import type { Target } from '../lib/servers';
import { summarize } from '../lib/stats';
import { MODEL, streamUrl, SYSTEM_MESSAGE } from '../lib/turns';
import { stampMessage } from '../stamp-upstream';

interface ChunksConfig {
  chunkStreams: number;
  chunkCount: number;
  chunkDelayMs: number;
}

export const chunks = defineScenario<ChunksConfig>({
  name: 'chunks',
  summary: 'delay from an upstream chunk to the same delta at the client',
  config: {
    full: { chunkStreams: 4, chunkCount: 100, chunkDelayMs: 5 },
    smoke: { chunkStreams: 2, chunkCount: 20, chunkDelayMs: 5 },
  },
  async run(bench, config) {
    const series = newSeries();
    const message = stampMessage({ chunks: config.chunkCount, delayMs: config.chunkDelayMs });
    for (let round = 0; round < config.rounds; round++) {
      for (const system of systemsInRound(round)) {
        const observations = await stampedStreams(bench, system, message, config.chunkStreams);
        series[system].push(summarizeDelays(observations, config.chunkStreams * config.chunkCount));
      }
    }
    progress('chunk delay done');
    return { rows: chunkRows(series), figures: series };
  },
});

/** `streams` concurrent stamped streams through one system. */
function stampedStreams(
  bench: Bench,
  system: SystemName,
  message: string,
  streams: number,
): Promise<StreamObservation[]> {
  if (system === 'direct') return directStamped(bench, message, streams);
  return serverStamped(bench.b[system], bench.agents[system], message, streams);
}

/** `streams` concurrent stamped completions straight from the stamping upstream. */
export function directStamped(
  bench: Bench,
  message: string,
  streams: number,
): Promise<StreamObservation[]> {
  const body = {
    model: MODEL,
    stream: true,
    stream_options: { include_usage: true },
    messages: [SYSTEM_MESSAGE, { role: 'user', content: message }],
  };
  const url = `${bench.upstreams.stamp}/v1/chat/completions`;
  const options = { agent: bench.agents.direct, protocol: 'direct', stamps: true } as const;
  return Promise.all(Array.from({ length: streams }, () => streamTurn(url, body, options)));
}

/** `streams` concurrent stamped turns through `target` (a server on the stamping upstream). */
export async function serverStamped(
  target: Target,
  agent: http.Agent,
  message: string,
  streams: number,
): Promise<StreamObservation[]> {
  const conversations = await createConversations(target.pool, streams, 0);
  const options = { agent, protocol: 'service', stamps: true } as const;
  const observations = await Promise.all(
    conversations.map((id) => streamTurn(streamUrl(target, id), { message }, options)),
  );
  target.served += conversations.length;
  return observations;
}

/** One round's chunk delays; a chunk that did not arrive is an error. */
export function summarizeDelays(observations: StreamObservation[], expected: number): RoundStat {
  const delays = observations.flatMap((o) => o.chunkDelaysUs);
  return { ...summarize(delays), errors: expected - delays.length };
}

function chunkRows(series: Series): Row[] {
  return (['p50', 'p99'] as const).map((key): Row => {
    const value = (system: SystemName): number => medianOf(series[system], key);
    // What the server adds: its delay minus the direct stream's, round by round.
    const added = (system: Server): number => medianOverDirect(series, system, key);
    const limitUs = key === 'p50' ? 300 : 2000;
    return {
      figure: `upstream chunk → client delta: delay added over direct, ${key}`,
      service: `+${us(added('service'))} (${us(value('service'))} in all)`,
      floor: `+${us(added('floor'))} (${us(value('floor'))} in all)`,
      direct: us(value('direct')),
      ratio: times(added('service') / added('floor')),
      target: `≤ ${limitUs / 1000} ms`,
      result: verdict(added('service') <= limitUs && series.service.every((s) => s.errors === 0)),
    };
  });
}
