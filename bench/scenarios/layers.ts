/**
 * What the design card's libraries cost by themselves, used minimally: a ladder of servers
 * doing the floor's work (floor-work.ts, floor-reads.ts: the same SQL, the same JSON), each
 * adding one layer of what the service is built on, next to the service itself:
 *   L0  the floor (node:http + pg), the run's A floor;
 *   L1  behind bare Express (bench/layers/express.ts);
 *   L2  behind a minimal Nest app on @nestjs/platform-express: global prefix, the global
 *       ValidationPipe with the service's options on a DTO body, one global guard, one
 *       controller (bench/layers/nest.ts);
 *   L3  L2 with the upstream called through the openai SDK, built as the service builds it,
 *       its keep-alive fetch adapter included (bench/layers/nest-openai.ts);
 *   the service, the run's A service.
 * L1–L3 are started for this scenario on the FakeLlmServer and the floor's database, and
 * stopped after it. Measured like whole.ts and reads.ts, in rotating rounds: whole-reply
 * turns at concurrency 16 (fresh conversations each run), and GET /conversations/:id and
 * GET /health at concurrency 1; server CPU (user + system, /proc) per request and p50.
 * Before measuring, each layer is checked to answer as the floor does (the same turn reply
 * and conversation, 400 for an empty message: the DTO is validated; L3's streamed turn:
 * the same events and deltas).
 *
 * The streamed path (layer-streams.ts): L3 streaming the floor's turn through the SDK with
 * `stream: true`, next to the floor and the service, each round: time-to-first-token
 * overhead (as ttft.ts measures it) and upstream chunk → client delta added over direct
 * (as chunks.ts measures it, a second L3 started on the stamping upstream).
 *
 * Reports, per request kind, each rung's CPU per request and p50 as ratios to L0, and the
 * service over the top rung (L3 for turns; L2 for reads, which do not call the upstream):
 * what the service's own code adds to the card's libraries used minimally; for streams,
 * L3 over L0 and the service over L3. No targets; errors and the answer check are judged.
 */
import { setTimeout as sleep } from 'node:timers/promises';

import { createConversations } from '../lib/database';
import { runLoad } from '../lib/load';
import { cpuMs, logTail } from '../lib/processes';
import { progress } from '../lib/progress';
import { ms, Row, sameAnswersRow, times } from '../lib/report';
import { Bench, defineScenario } from '../lib/scenario';
import { RoundStat, totalErrors, verdict } from '../lib/series';
import type { Target } from '../lib/servers';
import { SEED_HISTORY, TURN_BODY, turnPath } from '../lib/turns';
import { median, rotate, summarize } from '../lib/stats';
import {
  LayerStreamsConfig,
  measureStreams,
  newStreamSeries,
  streamErrors,
  streamLadder,
  StreamLadder,
  streamRows,
  StreamSeries,
} from './layer-streams';

interface LayersConfig extends LayerStreamsConfig {
  /** Seconds of whole-reply turns at concurrency 16, per system per round. */
  layersTurnSec: number;
  layersTurnConversations: number;
  /** Seconds of each read at concurrency 1, per system per round. */
  layersReadSec: number;
  /** Seconds of each request kind per system before the first round (not recorded; 0: none). */
  layersWarmupSec: number;
}

const RUNGS = ['floor', 'express', 'nest', 'openai', 'service'] as const;
type Rung = (typeof RUNGS)[number];
/** The rungs this scenario starts, each its script under bench/layers/. */
const STARTED: Record<Exclude<Rung, 'floor' | 'service'>, string> = {
  express: 'express.ts',
  nest: 'nest.ts',
  openai: 'nest-openai.ts',
};
const NAMES: Record<Rung, string> = {
  floor: 'L0 floor (node:http + pg)',
  express: 'L1 Express',
  nest: 'L2 Nest (pipe, guard)',
  openai: 'L3 Nest + openai SDK',
  service: 'service',
};

type Kind = 'turn' | 'one' | 'health';
const KINDS: readonly Kind[] = ['turn', 'one', 'health'];
/** L3 differs from L2 in the upstream call alone: reads measure it as L2. */
const RUNGS_OF: Record<Kind, readonly Rung[]> = {
  turn: RUNGS,
  one: RUNGS.filter((rung) => rung !== 'openai'),
  health: RUNGS.filter((rung) => rung !== 'openai'),
};
/** The top rung of each kind: the card's libraries it uses, used minimally. */
const TOP: Record<Kind, Rung> = { turn: 'openai', one: 'nest', health: 'nest' };
const FIGURES: Record<Kind, string> = {
  turn: 'whole-reply turn (concurrency 16)',
  one: 'GET /conversations/:id',
  health: 'GET /health',
};

type Ladder = Record<Rung, Target>;
type Series = Record<Kind, Partial<Record<Rung, RoundStat[]>>>;

export const layers = defineScenario<LayersConfig>({
  name: 'layers',
  summary: "the card's libraries used minimally: the floor behind Express, Nest, the openai SDK",
  config: {
    full: {
      layersTurnSec: 0.8,
      layersTurnConversations: 256,
      layersReadSec: 0.3,
      layersWarmupSec: 0.2,
      layersTtftTurns: 30,
      layersChunkStreams: 4,
      layersChunkCount: 50,
    },
    smoke: {
      layersTurnSec: 0.2,
      layersTurnConversations: 64,
      layersReadSec: 0.1,
      layersWarmupSec: 0,
      layersTtftTurns: 5,
      layersChunkStreams: 2,
      layersChunkCount: 10,
    },
  },
  settings: (config) => [
    `layers: the floor behind Express, Nest, Nest + openai SDK, and the service; ${config.layersTurnSec} s of turns at concurrency 16 and ${config.layersReadSec} s of each read at concurrency 1 per system per round`,
    `layers, streamed (floor, L3, service, direct): ${config.layersTtftTurns} sequential streamed turns, and ${config.layersChunkStreams} stamped streams of ${config.layersChunkCount} chunks, per system per round`,
  ],
  async run(bench, config) {
    const started = performance.now();
    const [ladder, stampedOpenai] = await Promise.all([
      startLadder(bench),
      bench.servers.layer('layer-openai-stamp', 'nest-openai.ts', bench.upstreams.stamp),
    ]);
    progress(`layers: L1–L3 up after ${seconds(started)}`);
    const streamed = streamLadder(bench, ladder.openai, stampedOpenai);
    try {
      const ids = await readIds(ladder);
      const mismatch = (await checkAnswers(ladder, ids)) ?? (await checkStream(ladder));
      const series = newLadderSeries();
      const streams = newStreamSeries();
      const failures: string[] = [];
      // Short and on fewer conversations: JIT and connections, not a measure.
      const warmUp = {
        ...config,
        layersTurnSec: config.layersWarmupSec,
        layersReadSec: config.layersWarmupSec,
        layersTurnConversations: 32,
      };
      for (const kind of config.layersWarmupSec > 0 ? KINDS : []) {
        for (const rung of RUNGS_OF[kind]) await measure(ladder[rung], kind, ids[rung], warmUp, []);
      }
      if (config.layersWarmupSec > 0) await warmUpStreams(bench, streamed);
      for (let round = 0; round < config.rounds; round++) {
        for (const kind of KINDS) {
          for (const rung of rotate(RUNGS_OF[kind], round))
            series[kind][rung]?.push(
              await measure(ladder[rung], kind, ids[rung], config, failures),
            );
        }
        const streaming = performance.now();
        await measureStreams(bench, streamed, config, streams, round);
        progress(
          `layers round ${round + 1}/${config.rounds} done (${seconds(started)}; streams ${seconds(streaming)})`,
        );
      }
      const rows = ladderRows(series, streams, failures, mismatch);
      return { rows, figures: { series, streams, failures, mismatch } };
    } finally {
      for (const rung of Object.keys(STARTED) as (keyof typeof STARTED)[])
        await bench.servers.stop(ladder[rung]);
      await bench.servers.stop(stampedOpenai);
      streamed.ttft.openai.agent.destroy();
    }
  },
});

/** A few streams through every streamed server, not recorded: JIT and connections. */
async function warmUpStreams(bench: Bench, streamed: StreamLadder): Promise<void> {
  const few = { layersTtftTurns: 5, layersChunkStreams: 2, layersChunkCount: 10 };
  await measureStreams(bench, streamed, few, newStreamSeries(), 0);
}

function newLadderSeries(): Series {
  const stats = (kind: Kind): Series[Kind] =>
    Object.fromEntries(RUNGS_OF[kind].map((rung) => [rung, [] as RoundStat[]]));
  return { turn: stats('turn'), one: stats('one'), health: stats('health') };
}

const seconds = (since: number): string => `${((performance.now() - since) / 1000).toFixed(1)} s`;

/** The run's A floor and service, and the layer servers started on the same upstream. */
async function startLadder(bench: Bench): Promise<Ladder> {
  const upstream = bench.upstreams.fake;
  const [express, nest, openai] = await Promise.all(
    Object.entries(STARTED).map(([rung, script]) =>
      bench.servers.layer(`layer-${rung}`, script, upstream),
    ),
  );
  return { floor: bench.a.floor, express, nest, openai, service: bench.a.service };
}

/** Conversations to read, per rung: the floor's database serves L0–L3 alike. */
async function readIds(ladder: Ladder): Promise<Record<Rung, string[]>> {
  const floor = await createConversations(ladder.floor.pool, 64, SEED_HISTORY);
  const service = await createConversations(ladder.service.pool, 64, SEED_HISTORY);
  return { floor, express: floor, nest: floor, openai: floor, service };
}

/** One run of `kind` against one rung: latency, errors (told in `failures`), CPU per request. */
async function measure(
  target: Target,
  kind: Kind,
  ids: string[],
  config: LayersConfig,
  failures: string[],
): Promise<RoundStat> {
  const turn = kind === 'turn';
  const conversations = turn
    ? await createConversations(target.pool, config.layersTurnConversations, SEED_HISTORY)
    : ids;
  const cpuBefore = cpuMs(target.child.pid);
  const result = await runLoad({
    origin: target.origin,
    connections: turn ? 16 : 1,
    durationSec: turn ? config.layersTurnSec : config.layersReadSec,
    ...(turn
      ? { body: TURN_BODY, path: turnPath }
      : {
          method: 'GET',
          path: kind === 'one' ? (id) => `/api/v1/conversations/${id}` : '/health',
        }),
    conversations,
  });
  // Let requests cut off by the end of the run finish before reading the CPU clock.
  await sleep(turn ? 100 : 50);
  const cpuMsPerTurn = (cpuMs(target.child.pid) - cpuBefore) / result.latencies.length;
  target.served += result.latencies.length;
  const failed = Object.entries(result.statusCodes).filter(([code]) => !code.startsWith('2'));
  const socket = result.errors - failed.reduce((sum, [, count]) => sum + count, 0);
  if (socket > 0) failed.push(['socket', socket]);
  if (failed.length > 0) {
    const failure = `${target.label} ${kind}: ${failed.map(([c, n]) => `${c}×${n}`).join(', ')}`;
    failures.push(failure);
    // A kept run's logs are deleted at its end: say here what the server said.
    progress(`${failure}; its log ends:\n${logTail(target.child.logPath, 12)}`);
  }
  return {
    ...summarize(result.latencies),
    errors: result.errors,
    rate: result.okInWindow / result.durationSec,
    cpuMsPerTurn,
  };
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

async function send(target: Target, path: string, body?: object): Promise<Answer> {
  const res = await fetch(`${target.origin}${path}`, {
    method: body ? 'POST' : 'GET',
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body && JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  return { status: res.status, body: (await res.json()) as Answer['body'] };
}

/**
 * Each layer server against the floor: the same conversation read, the same reply to a
 * turn on a fresh conversation, 400 for an empty message. The first difference, or null.
 */
async function checkAnswers(ladder: Ladder, ids: Record<Rung, string[]>): Promise<string | null> {
  const fresh = await createConversations(ladder.floor.pool, RUNGS.length, SEED_HISTORY);
  const floorRead = await send(ladder.floor, `/api/v1/conversations/${ids.floor[0]}`);
  const floorTurn = await send(ladder.floor, turnPath(fresh[0]), { message: 'bench turn' });
  for (const [i, rung] of (['express', 'nest', 'openai'] as const).entries()) {
    const target = ladder[rung];
    const read = await send(target, `/api/v1/conversations/${ids.floor[0]}`);
    if (JSON.stringify(read) !== JSON.stringify(floorRead))
      return `${rung}: GET /conversations/:id answered ${JSON.stringify(read).slice(0, 120)}`;
    const turn = await send(target, turnPath(fresh[i + 1]), { message: 'bench turn' });
    if (turn.status !== floorTurn.status || turn.body.response !== floorTurn.body.response)
      return `${rung}: turn answered ${turn.status} ${JSON.stringify(turn.body).slice(0, 120)}`;
    const empty = await send(target, turnPath(fresh[i + 1]), { message: '' });
    if (empty.status !== 400) return `${rung}: an empty message answered ${empty.status}`;
  }
  return null;
}

/** A streamed turn's events, the deltas' text in full (the other frames carry fresh ids). */
async function streamedEvents(target: Target, id: string): Promise<string> {
  const res = await fetch(`${target.origin}${turnPath(id)}/stream`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ message: 'bench turn' }),
    signal: AbortSignal.timeout(30_000),
  });
  const frames = (await res.text()).split('\n\n').filter(Boolean);
  const events = frames.map((frame) => {
    const event = /^event: (.*)$/m.exec(frame)?.[1];
    return event === 'message.delta' ? /^data: (.*)$/m.exec(frame)?.[1] : event;
  });
  return `${res.status} ${events.join(' ')}`;
}

/** L3's streamed turn against the floor's: the same events, the same deltas. */
async function checkStream(ladder: Ladder): Promise<string | null> {
  const [floorId, openaiId] = await createConversations(ladder.floor.pool, 2, SEED_HISTORY);
  const floor = await streamedEvents(ladder.floor, floorId);
  const openai = await streamedEvents(ladder.openai, openaiId);
  return openai === floor ? null : `openai: a streamed turn answered ${openai.slice(0, 120)}`;
}

function ladderRows(
  series: Series,
  streams: StreamSeries,
  failures: string[],
  mismatch: string | null,
): Row[] {
  const errors =
    KINDS.flatMap((kind) => Object.values(series[kind])).reduce(
      (sum, stats) => sum + totalErrors(stats),
      0,
    ) + streamErrors(streams);
  return [
    ...KINDS.flatMap((kind) => kindRows(kind, series[kind])),
    ...streamRows(streams),
    {
      figure: 'layers: errors in all runs, every rung (non-2xx, socket; streams cut, chunks lost)',
      service: failures.length ? `${errors} (${failures.join('; ')})` : String(errors),
      floor: '',
      direct: '',
      ratio: '',
      target: '0',
      result: verdict(errors === 0),
    },
    sameAnswersRow(
      'layers: L1–L3 answer as the floor (read, turn reply, 400 on an empty message; L3 streamed deltas)',
      mismatch,
    ),
  ];
}

/** Each rung over L0, then the service over the top rung: CPU per request and p50, no target. */
function kindRows(kind: Kind, stats: Series[Kind]): Row[] {
  const cpu = (rung: Rung): number => median((stats[rung] ?? []).map((s) => s.cpuMsPerTurn ?? NaN));
  const p50 = (rung: Rung): number => median((stats[rung] ?? []).map((s) => s.p50));
  const value = (rung: Rung): string => `${ms(cpu(rung))} CPU, p50 ${ms(p50(rung))}`;
  const ratio = (over: Rung, under: Rung): string =>
    `${times(cpu(over) / cpu(under))} (p50 ${times(p50(over) / p50(under))})`;
  const row = (figure: string, over: Rung, under: Rung): Row => ({
    figure: `layers: ${FIGURES[kind]}, ${figure}`,
    service: value(over),
    floor: value(under),
    direct: '',
    ratio: ratio(over, under),
    target: 'report',
    result: 'report',
  });
  return [
    ...RUNGS_OF[kind]
      .filter((rung) => rung !== 'floor')
      .map((rung) => row(`${NAMES[rung]} over L0`, rung, 'floor')),
    row(`service over ${NAMES[TOP[kind]]} (in the floor column)`, 'service', TOP[kind]),
  ];
}
