/**
 * Whole-reply turn latency against history length: on the A servers, conversations seeded
 * in SQL with 10, 1,000 and 10,000 long messages (~700 tokens each, so the 8k window holds
 * the same ~10 in every case and the prompt is the same); sequential turns, each one's
 * messages deleted after it so every turn sees the same history. Direct: the same prompt
 * sent to the FakeLlmServer.
 *
 * Reports the p50 for each size; target: 10,000 messages ≤ 1.2× the 10-message turn.
 */
import { createLongConversation, longHistoryPrompt, trimConversation } from '../lib/database';
import { progress } from '../lib/progress';
import { ms, Row, times } from '../lib/report';
import { Bench, defineScenario } from '../lib/scenario';
import {
  medianOf,
  newSeries,
  RoundStat,
  Series,
  Server,
  SERVERS,
  SystemName,
  systemsInRound,
  verdict,
} from '../lib/series';
import { summarize } from '../lib/stats';
import { MODEL, postJson, SYSTEM_MESSAGE, turnPath } from '../lib/turns';

const HISTORY_SIZES = [10, 1000, 10_000] as const;
type Size = (typeof HISTORY_SIZES)[number];
/** Tokens per seeded message, so ~10 of them fill the 8k window. */
const LONG_MESSAGE_TOKENS = 700;

interface HistoryConfig {
  historyTurns: number;
}

/** The seeded conversation of each size, per server. */
type Seeded = Record<Server, Record<Size, string>>;

export const history = defineScenario<HistoryConfig>({
  name: 'history',
  summary: 'whole-reply turn latency with 10, 1,000 and 10,000 messages of history',
  config: { full: { historyTurns: 20 }, smoke: { historyTurns: 3 } },
  async run(bench, config) {
    const seeded = await seed(bench);
    const directBody = await directHistoryBody(bench, seeded.service[10]);
    const series = Object.fromEntries(HISTORY_SIZES.map((size) => [size, newSeries()])) as Record<
      Size,
      Series
    >;
    for (let round = 0; round < config.rounds; round++) {
      for (const size of HISTORY_SIZES) {
        for (const system of systemsInRound(round)) {
          const probe =
            system === 'direct'
              ? () => directTurn(bench, directBody)
              : () => serverTurn(bench, system, seeded[system][size], size);
          series[size][system].push(await probeTurns(config.historyTurns, probe));
        }
      }
    }
    progress('history length done');
    return { rows: historyRows(series), figures: series };
  },
});

async function seed(bench: Bench): Promise<Seeded> {
  const seeded = { service: {}, floor: {} } as Seeded;
  for (const system of SERVERS) {
    for (const size of HISTORY_SIZES) {
      const pool = bench.a[system].pool;
      seeded[system][size] = await createLongConversation(pool, size, LONG_MESSAGE_TOKENS);
    }
  }
  for (const system of SERVERS) await bench.a[system].pool.query('VACUUM ANALYZE messages');
  return seeded;
}

/** The direct baseline: the prompt the service builds for the 10-message conversation. */
async function directHistoryBody(bench: Bench, conversationId: string): Promise<object> {
  const prompt = await longHistoryPrompt(bench.a.service.pool, conversationId, 10);
  return {
    model: MODEL,
    max_tokens: 1024,
    messages: [SYSTEM_MESSAGE, ...prompt, { role: 'user', content: 'history probe' }],
  };
}

/** `turns` sequential turns; each answers with its latency, or null if it failed. */
async function probeTurns(turns: number, turn: () => Promise<number | null>): Promise<RoundStat> {
  const latencies: number[] = [];
  let errors = 0;
  for (let i = 0; i < turns; i++) {
    const latency = await turn();
    if (latency === null) errors++;
    else latencies.push(latency);
  }
  return { ...summarize(latencies), errors };
}

async function directTurn(bench: Bench, body: object): Promise<number | null> {
  const url = `${bench.upstreams.fake}/v1/chat/completions`;
  const r = await postJson(url, body, bench.agents.direct);
  return r.status === 200 ? r.ms : null;
}

async function serverTurn(
  bench: Bench,
  system: Server,
  id: string,
  size: Size,
): Promise<number | null> {
  const target = bench.a[system];
  const url = `${target.origin}${turnPath(id)}`;
  const r = await postJson(url, { message: 'history probe' }, bench.agents[system]);
  target.served++;
  await trimConversation(target.pool, id, size);
  return r.status === 201 ? r.ms : null;
}

function historyRows(series: Record<Size, Series>): Row[] {
  const p50 = (size: Size, system: SystemName): number => medianOf(series[size][system], 'p50');
  return HISTORY_SIZES.map((size): Row => {
    const last = size === 10_000;
    const ratio = p50(size, 'service') / p50(10, 'service');
    return {
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
    };
  });
}
