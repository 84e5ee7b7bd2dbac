/**
 * The Responses door against the doors it is built on, for the same turn, at concurrency 1
 * on the A service: `POST /v1/responses` with `store: false` against
 * `POST /v1/chat/completions` (the same prompt, the same provider path), and a stored
 * response on a conversation (`conversation: conv_…`) against the same turn through
 * `POST /api/v1/conversations/:id/messages`. Overhead = latency − the direct call's of the
 * same percentile. Target: the door's overhead ≤ 1.1× its base door's.
 */
import { setTimeout as sleep } from 'node:timers/promises';

import { createConversations } from '../lib/database';
import { LoadResult, runLoad } from '../lib/load';
import { cpuMs } from '../lib/processes';
import { progress } from '../lib/progress';
import { ms, reportRow, Row, times } from '../lib/report';
import { Bench, defineScenario } from '../lib/scenario';
import { median, summarize } from '../lib/stats';
import { verdict } from '../lib/series';
import { DIRECT_BODY, SEED_HISTORY, TURN_BODY, turnPath } from '../lib/turns';

interface ResponsesConfig {
  seconds: number;
  conversations: number;
}

const ALIAS = 'lmstudio/default';
const [system, ...history] = DIRECT_BODY.messages;
const COMPLETION_BODY = JSON.stringify({ ...DIRECT_BODY, model: ALIAS });
const STATELESS_BODY = JSON.stringify({
  model: ALIAS,
  store: false,
  instructions: system.content,
  input: history,
  max_output_tokens: DIRECT_BODY.max_tokens,
});
const storedBody = (id: string): string =>
  JSON.stringify({
    model: ALIAS,
    input: 'bench turn',
    conversation: `conv_${id.replaceAll('-', '')}`,
  });

type Door = 'direct' | 'completions' | 'stateless' | 'rest' | 'stored';
const DOORS: Door[] = ['direct', 'completions', 'stateless', 'rest', 'stored'];

/** One door's run: its p50, and the service's CPU per request (none for direct). */
interface DoorStat {
  p50: number;
  cpuMs: number;
}

async function measure(
  bench: Bench,
  run: () => Promise<LoadResult>,
  door: Door,
): Promise<DoorStat> {
  const pid = bench.a.service.child.pid;
  const before = cpuMs(pid);
  const result = await run();
  if (result.errors > 0) throw new Error(`${door}: ${JSON.stringify(result.statusCodes)}`);
  // Let a request cut off by the end of the run finish before reading the CPU clock.
  await sleep(100);
  return {
    p50: summarize(result.latencies).p50,
    cpuMs: (cpuMs(pid) - before) / result.latencies.length,
  };
}

async function runDoor(bench: Bench, door: Door, config: ResponsesConfig): Promise<DoorStat> {
  const load = { connections: 1, durationSec: config.seconds };
  const service = bench.a.service;
  if (door === 'direct') {
    const body = JSON.stringify(DIRECT_BODY);
    const path = '/v1/chat/completions';
    return measure(
      bench,
      () => runLoad({ origin: bench.upstreams.fake, ...load, body, path }),
      door,
    );
  }
  if (door === 'completions' || door === 'stateless') {
    const [path, body] =
      door === 'completions'
        ? ['/v1/chat/completions', COMPLETION_BODY]
        : ['/v1/responses', STATELESS_BODY];
    return measure(bench, () => runLoad({ origin: service.origin, ...load, body, path }), door);
  }
  const conversations = await createConversations(service.pool, config.conversations, SEED_HISTORY);
  return measure(
    bench,
    () =>
      runLoad({
        origin: service.origin,
        ...load,
        conversations,
        ...(door === 'rest'
          ? { path: turnPath, body: TURN_BODY }
          : {
              path: () => '/v1/responses',
              body: storedBody(conversations[0]),
              bodyFor: storedBody,
            }),
      }),
    door,
  );
}

function row(figure: string, door: number, base: number, direct: number): Row {
  const ratio = (door - direct) / (base - direct);
  return {
    figure,
    service: ms(door - direct),
    floor: ms(base - direct),
    direct: ms(direct),
    ratio: times(ratio),
    target: '≤ 1.1× its base door',
    result: verdict(ratio <= 1.1),
  };
}

export const responses = defineScenario<ResponsesConfig>({
  name: 'responses',
  summary: 'the Responses door: overhead p50 over its base doors (chat completions, /api/v1 turns)',
  config: {
    full: { seconds: 3, conversations: 64 },
    smoke: { seconds: 0.5, conversations: 16 },
  },
  settings: (config) => [
    `responses: autocannon, concurrency 1, ${config.seconds} s per door per round; the "floor" column holds the base door's overhead (chat completions for store:false, /api/v1 for stored)`,
  ],
  async run(bench, config) {
    const stats: Record<Door, DoorStat[]> = {
      direct: [],
      completions: [],
      stateless: [],
      rest: [],
      stored: [],
    };
    for (let round = 0; round < config.rounds; round++) {
      // Who goes first rotates, so machine noise hits every door alike.
      const shift = round % DOORS.length;
      for (const door of [...DOORS.slice(shift), ...DOORS.slice(0, shift)]) {
        stats[door].push(await runDoor(bench, door, config));
        await sleep(100);
      }
      progress(`responses round ${round + 1}/${config.rounds} done`);
    }
    const p50 = (door: Door): number => median(stats[door].map((s) => s.p50));
    const cpu = (door: Door): number => median(stats[door].map((s) => s.cpuMs));
    const cpuRow = (figure: string, door: Door, base: Door): Row =>
      reportRow(figure, ms(cpu(door)), ms(cpu(base)), times(cpu(door) / cpu(base)));
    const rows = [
      row(
        '/v1/responses store:false overhead p50, c1 (vs /v1/chat/completions)',
        p50('stateless'),
        p50('completions'),
        p50('direct'),
      ),
      row(
        '/v1/responses stored turn overhead p50, c1 (vs POST /api/v1 …/messages)',
        p50('stored'),
        p50('rest'),
        p50('direct'),
      ),
      cpuRow(
        'server CPU per /v1/responses store:false (vs /v1/chat/completions)',
        'stateless',
        'completions',
      ),
      cpuRow('server CPU per stored /v1/responses turn (vs /api/v1 turn)', 'stored', 'rest'),
    ];
    return { rows, figures: { stats } };
  },
});
