/**
 * The layers scenario's streamed path: the top rung (L3, Nest + openai SDK) streaming the
 * floor's turn next to the floor and the service, measured with ttft.ts's and chunks.ts's
 * own functions:
 *   time to first token, sequential streamed turns on the FakeLlmServer (the A floor and
 *   service, L3 started there), overhead over the same completion sent direct;
 *   upstream chunk → client delta on the stamping upstream (the B floor and service, a
 *   second L3 started there), delay added over the same stamped streams read direct.
 * Rotating rounds, medians over rounds of each round's figure minus direct's.
 */
import type http from 'node:http';

import { ms, Row, times, us } from '../lib/report';
import type { Bench } from '../lib/scenario';
import { RoundStat, totalErrors } from '../lib/series';
import type { Target } from '../lib/servers';
import { median, rotate } from '../lib/stats';
import { keepAliveAgent } from '../lib/turns';
import { stampMessage } from '../stamp-upstream';
import { directStamped, serverStamped, summarizeDelays } from './chunks';
import { directStreams, serverStreams, summarizeTtft } from './ttft';

export interface LayerStreamsConfig {
  /** Sequential streamed turns per system per round (time to first token). */
  layersTtftTurns: number;
  /** Concurrent stamped streams per system per round, and chunks in each. */
  layersChunkStreams: number;
  layersChunkCount: number;
}

const STREAMERS = ['direct', 'floor', 'openai', 'service'] as const;
type Streamer = (typeof STREAMERS)[number];
type Streaming = Exclude<Streamer, 'direct'>;
const NAMES: Record<Streaming, string> = {
  floor: 'L0 floor',
  openai: 'L3 Nest + openai SDK',
  service: 'service',
};
/** The stamping upstream's pacing between chunks, as chunks.ts paces them. */
const CHUNK_DELAY_MS = 5;

/** Each server of the streamed measures, with the agent the client reaches it through. */
interface Streamed {
  target: Target;
  agent: http.Agent;
}
/** The servers on the FakeLlmServer (`ttft`) and on the stamping upstream (`chunks`). */
export type StreamLadder = Record<'ttft' | 'chunks', Record<Streaming, Streamed>>;
export type StreamSeries = Record<'ttft' | 'chunks', Record<Streamer, RoundStat[]>>;

/** The A and B floor and service, L3 (started on the FakeLlmServer) and L3 on the stamper. */
export function streamLadder(bench: Bench, openai: Target, stampedOpenai: Target): StreamLadder {
  const agent = keepAliveAgent();
  const of = (target: Target, through: http.Agent): Streamed => ({ target, agent: through });
  return {
    ttft: {
      floor: of(bench.a.floor, bench.agents.floor),
      openai: of(openai, agent),
      service: of(bench.a.service, bench.agents.service),
    },
    chunks: {
      floor: of(bench.b.floor, bench.agents.floor),
      openai: of(stampedOpenai, agent),
      service: of(bench.b.service, bench.agents.service),
    },
  };
}

export const newStreamSeries = (): StreamSeries => {
  const empty = (): Record<Streamer, RoundStat[]> => ({
    direct: [],
    floor: [],
    openai: [],
    service: [],
  });
  return { ttft: empty(), chunks: empty() };
};

/** One round of both measures, every system, the order rotating with the round. */
export async function measureStreams(
  bench: Bench,
  ladder: StreamLadder,
  config: LayerStreamsConfig,
  series: StreamSeries,
  round: number,
): Promise<void> {
  const turns = config.layersTtftTurns;
  for (const system of rotate(STREAMERS, round)) {
    series.ttft[system].push(
      system === 'direct'
        ? summarizeTtft(await directStreams(bench, turns))
        : await serverStreams(ladder.ttft[system].target, ladder.ttft[system].agent, turns),
    );
  }
  const streams = config.layersChunkStreams;
  const message = stampMessage({ chunks: config.layersChunkCount, delayMs: CHUNK_DELAY_MS });
  for (const system of rotate(STREAMERS, round)) {
    const observations =
      system === 'direct'
        ? await directStamped(bench, message, streams)
        : await serverStamped(
            ladder.chunks[system].target,
            ladder.chunks[system].agent,
            message,
            streams,
          );
    series.chunks[system].push(summarizeDelays(observations, streams * config.layersChunkCount));
  }
}

/** Errors (failed or cut streams, chunks not delivered) in every streamed run. */
export const streamErrors = (series: StreamSeries): number =>
  (['ttft', 'chunks'] as const)
    .flatMap((measure) => Object.values(series[measure]))
    .reduce((sum, stats) => sum + totalErrors(stats), 0);

/** Median over rounds of what `system` adds to direct in the same round. */
const added = (stats: Record<Streamer, RoundStat[]>, system: Streaming, key: 'p50' | 'p99') =>
  median(stats[system].map((stat, i) => stat[key] - stats.direct[i][key]));

/**
 * L3 over L0 and the service over L3: TTFT overhead p50 (ms), chunk → delta added p50 and
 * p99 (µs), as ratios. Each row's `floor` column is the rung it is divided by.
 */
export function streamRows(series: StreamSeries): Row[] {
  const figures = [
    { measure: 'ttft', key: 'p50', label: 'time-to-first-token overhead p50', unit: ms },
    { measure: 'chunks', key: 'p50', label: 'chunk → delta added over direct p50', unit: us },
    { measure: 'chunks', key: 'p99', label: 'chunk → delta added over direct p99', unit: us },
  ] as const;
  return figures.flatMap(({ measure, key, label, unit }) => {
    const value = (system: Streaming): number => added(series[measure], system, key);
    const row = (over: Streaming, under: Streaming, how: string): Row => ({
      figure: `layers: streamed turn, ${label}, ${how}`,
      service: unit(value(over)),
      floor: unit(value(under)),
      direct: unit(median(series[measure].direct.map((stat) => stat[key]))),
      ratio: times(value(over) / value(under)),
      target: 'report',
      result: 'report',
    });
    return [
      row('openai', 'floor', `${NAMES.openai} over L0`),
      row('service', 'openai', `service ÷ L3 (L3 in the floor column)`),
    ];
  });
}
