/**
 * Liveness under hostile messages, on the A servers: one client posts whole-reply turns of
 * 100,000 × 'm' (the service's default MESSAGE_MAX_CHARS; 20,000 in smoke runs), one after
 * the other, alternately to a random conversation id and to a real conversation; meanwhile
 * another sends `GET /health` on a fixed schedule, whether or not the previous one has
 * answered (so a frozen event loop shows in every probe it delays, not in one). The same
 * probing without the hostile client, for a while, is the reference; the two phases swap
 * order every round.
 *
 * Reports /health p50 and p99 in both phases and the max under hostile load (target: p99
 * ≤ 50 ms under hostile load, no failed probe), what the hostile messages were answered
 * (target: no 5xx, none lost) and how long they took.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

import { createConversations } from '../lib/database';
import { progress } from '../lib/progress';
import { ms, Row, times } from '../lib/report';
import { Bench, defineScenario } from '../lib/scenario';
import { Server, SERVERS, verdict } from '../lib/series';
import { median, percentile, rotate, summarize, Summary } from '../lib/stats';
import { keepAliveAgent, postJson, SEED_HISTORY, turnPath } from '../lib/turns';

interface HostileConfig {
  /** Characters of each hostile message, all 'm' (100,000 is the default MESSAGE_MAX_CHARS). */
  hostileMessageChars: number;
  /** Hostile messages per server per round, alternately to a random id and a real one. */
  hostileMessagesPerRound: number;
  /** Seconds of /health probing without hostile load (the reference), per server per round. */
  hostileQuietSec: number;
  /** A /health request every this many ms, answered or not. */
  hostileProbeEveryMs: number;
}

/** Probing goes on this long after the last hostile answer, to see the process recover. */
const TAIL_MS = 200;
const P99_LIMIT_MS = 50;

type Phase = 'quiet' | 'hostile';

interface HealthStat extends Summary {
  max: number;
  /** Why each failed probe failed (no 200, or no answer in 60 s). */
  failures: string[];
}

interface HostileAnswer {
  to: 'random id' | 'real conversation';
  /** HTTP status; 0 when the request failed or timed out. */
  status: number;
  ms: number;
}

type Figures = Record<Phase, Record<Server, HealthStat[]>> & {
  answers: Record<Server, HostileAnswer[]>;
};

export const hostile = defineScenario<HostileConfig>({
  name: 'hostile',
  summary: '/health latency while 100,000-character messages arrive, and without them',
  config: {
    full: {
      hostileMessageChars: 100_000,
      hostileMessagesPerRound: 4,
      hostileQuietSec: 2,
      hostileProbeEveryMs: 10,
    },
    // Shorter messages: a slow tokenizer (quadratic on one repeated character) would
    // otherwise make the smoke run wait tens of seconds on each.
    smoke: {
      hostileMessageChars: 20_000,
      hostileMessagesPerRound: 2,
      hostileQuietSec: 0.5,
      hostileProbeEveryMs: 10,
    },
  },
  settings: (config) => [
    `hostile: ${config.hostileMessagesPerRound} whole-reply turns of ${config.hostileMessageChars.toLocaleString('en')} × 'm' per server per round, alternately to a random conversation id and to a real conversation; GET /health every ${config.hostileProbeEveryMs} ms meanwhile, and for ${config.hostileQuietSec} s without them (the reference)`,
  ],
  async run(bench, config) {
    const figures: Figures = {
      quiet: { service: [], floor: [] },
      hostile: { service: [], floor: [] },
      answers: { service: [], floor: [] },
    };
    const probeAgent = keepAliveAgent();
    try {
      for (let round = 0; round < config.rounds; round++) {
        for (const system of rotate(SERVERS, round)) {
          const phases: Phase[] = round % 2 === 0 ? ['quiet', 'hostile'] : ['hostile', 'quiet'];
          for (const phase of phases) {
            const until =
              phase === 'quiet'
                ? sleep(config.hostileQuietSec * 1000)
                : postHostile(bench, system, config).then((answers) =>
                    figures.answers[system].push(...answers),
                  );
            const origin = bench.a[system].origin;
            figures[phase][system].push(
              await probeHealth(origin, probeAgent, config.hostileProbeEveryMs, until),
            );
          }
        }
        progress(`hostile-messages round ${round + 1}/${config.rounds} done`);
      }
    } finally {
      probeAgent.destroy();
    }
    return { rows: hostileRows(figures), figures };
  },
});

/** The round's hostile turns one after the other, alternately to a random id and a real one. */
async function postHostile(
  bench: Bench,
  system: Server,
  config: HostileConfig,
): Promise<HostileAnswer[]> {
  const target = bench.a[system];
  const message = 'm'.repeat(config.hostileMessageChars);
  const [conversation] = await createConversations(target.pool, 1, SEED_HISTORY);
  const answers: HostileAnswer[] = [];
  for (let i = 0; i < config.hostileMessagesPerRound; i++) {
    const to = i % 2 === 0 ? 'random id' : 'real conversation';
    const url = `${target.origin}${turnPath(to === 'random id' ? randomUUID() : conversation)}`;
    const started = performance.now();
    const answer = await postJson(url, { message }, bench.agents[system]).catch(() => ({
      status: 0,
      ms: performance.now() - started,
    }));
    answers.push({ to, ...answer });
    if (to === 'real conversation' && answer.status === 201) target.served++;
  }
  return answers;
}

/**
 * GET /health every `everyMs` until `until` settles (and TAIL_MS more), without waiting for
 * answers, so a stalled server delays every probe sent while it stalls.
 */
async function probeHealth(
  origin: string,
  agent: http.Agent,
  everyMs: number,
  until: Promise<unknown>,
): Promise<HealthStat> {
  const probes: Promise<number | string>[] = [];
  const timer = setInterval(() => probes.push(getHealth(`${origin}/health`, agent)), everyMs);
  try {
    await until;
    await sleep(TAIL_MS);
  } finally {
    clearInterval(timer);
  }
  const results = await Promise.all(probes);
  const latencies = results.filter((result) => typeof result === 'number');
  return {
    ...summarize(latencies),
    max: latencies.length ? Math.max(...latencies) : Number.NaN,
    failures: results.filter((result) => typeof result === 'string'),
  };
}

/** One GET /health: its latency in ms, or why it failed (no 200, or no answer in 60 s). */
function getHealth(url: string, agent: http.Agent): Promise<number | string> {
  return new Promise((resolve) => {
    const started = performance.now();
    const req = http.get(url, { agent }, (res) => {
      res.resume();
      res.on('end', () =>
        resolve(res.statusCode === 200 ? performance.now() - started : `status ${res.statusCode}`),
      );
      res.on('error', (error) => resolve(error.message));
    });
    req.setTimeout(60_000, () => req.destroy(new Error('no answer in 60 s')));
    req.on('error', (error) => resolve(error.message));
  });
}

function hostileRows(figures: Figures): Row[] {
  const stat = (phase: Phase, system: Server, key: 'p50' | 'p99'): number =>
    median(figures[phase][system].map((s) => s[key]));
  const max = (system: Server): number =>
    Math.max(...figures.hostile[system].map((s) => s.max).filter(Number.isFinite));
  const failed = (system: Server): number =>
    [...figures.quiet[system], ...figures.hostile[system]].reduce(
      (sum, s) => sum + s.failures.length,
      0,
    );
  const row = (figure: string, service: number, floor: number, ratio: string): Row => ({
    figure,
    service: ms(service),
    floor: ms(floor),
    direct: '',
    ratio,
    target: 'report',
    result: 'report',
  });
  /** Under hostile load, as a multiple of the same server's figure without it. */
  const ofQuiet = (key: 'p50' | 'p99'): string =>
    `${times(stat('hostile', 'service', key) / stat('quiet', 'service', key))} of quiet (floor ${times(stat('hostile', 'floor', key) / stat('quiet', 'floor', key))})`;
  const quiet = (key: 'p50' | 'p99'): Row =>
    row(
      `/health ${key}, no hostile load (reference)`,
      stat('quiet', 'service', key),
      stat('quiet', 'floor', key),
      times(stat('quiet', 'service', key) / stat('quiet', 'floor', key)),
    );
  const p99 = stat('hostile', 'service', 'p99');
  return [
    quiet('p50'),
    quiet('p99'),
    row(
      '/health p50 under hostile messages',
      stat('hostile', 'service', 'p50'),
      stat('hostile', 'floor', 'p50'),
      ofQuiet('p50'),
    ),
    {
      ...row(
        '/health p99 under hostile messages',
        p99,
        stat('hostile', 'floor', 'p99'),
        ofQuiet('p99'),
      ),
      service: `${ms(p99)}${failed('service') ? ` (${failed('service')} probes failed)` : ''}`,
      target: `≤ ${P99_LIMIT_MS} ms, no failed probe`,
      result: verdict(p99 <= P99_LIMIT_MS && failed('service') === 0),
    },
    row(
      '/health max under hostile messages',
      max('service'),
      max('floor'),
      times(max('service') / max('floor')),
    ),
    ...answerRows(figures.answers),
  ];
}

/** What the hostile messages got, and how long it took. */
function answerRows(answers: Record<Server, HostileAnswer[]>): Row[] {
  const counts = (system: Server): string => {
    const byStatus = new Map<string, number>();
    for (const answer of answers[system]) {
      const key = `${answer.to} ${answer.status || 'failed'}`;
      byStatus.set(key, (byStatus.get(key) ?? 0) + 1);
    }
    return [...byStatus].map(([key, count]) => `${key} ×${count}`).join(', ');
  };
  const bad = answers.service.filter((a) => a.status === 0 || a.status >= 500).length;
  const p50 = (system: Server, to: HostileAnswer['to']): number =>
    percentile(
      answers[system].filter((a) => a.to === to).map((a) => a.ms),
      50,
    );
  const timeRow = (to: HostileAnswer['to']): Row => ({
    figure: `hostile message answer time p50, to a ${to}`,
    service: ms(p50('service', to)),
    floor: ms(p50('floor', to)),
    direct: '',
    ratio: times(p50('service', to) / p50('floor', to)),
    target: 'report',
    result: 'report',
  });
  return [
    {
      figure: 'hostile messages: answers (to, status ×count)',
      service: counts('service'),
      floor: counts('floor'),
      direct: '',
      ratio: '',
      target: 'no 5xx, none lost',
      result: verdict(bad === 0),
    },
    timeRow('random id'),
    timeRow('real conversation'),
  ];
}
