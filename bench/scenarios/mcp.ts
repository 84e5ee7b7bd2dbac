/**
 * What a server tool call costs beyond the tool's own work: sequential calls of the test
 * servers' `echo` (which does nothing) through ServerToolsService.call(), over stdio and
 * over Streamable HTTP, in the bench process (see bench/lib/mcp.ts). Rounds alternate the
 * transports; p50 and p99 are medians over rounds. `npm run bench:mcp` runs it alone,
 * without the database and servers every other scenario needs.
 */
import { progress } from '../lib/progress';
import { ms, Row, times } from '../lib/report';
import { defineScenario } from '../lib/scenario';
import { verdict } from '../lib/series';
import { median, rotate, summarize, Summary } from '../lib/stats';
import { directRoundTrips, McpBench, roundTrips, startMcpBench } from '../lib/mcp';

const TRANSPORTS = ['stdio', 'http'] as const;
const LABEL = { stdio: 'stdio', http: 'Streamable HTTP' };
const TARGET_P50_MS = 2;

interface McpConfig {
  mcpCalls: number;
}

type Path = `${(typeof TRANSPORTS)[number]}:${'service' | 'direct'}`;
export type McpFigures = Record<Path, Summary[]>;

export async function measureMcp(
  bench: McpBench,
  rounds: number,
  calls: number,
): Promise<McpFigures> {
  const figures = Object.fromEntries(
    TRANSPORTS.flatMap((t) => [`${t}:service`, `${t}:direct`].map((p) => [p, []])),
  ) as unknown as McpFigures;
  const run = (path: Path, n: number): Promise<number[]> => {
    const [transport, who] = path.split(':') as [(typeof TRANSPORTS)[number], string];
    return who === 'service'
      ? roundTrips(bench.tools, transport, n)
      : directRoundTrips(bench.direct[transport], n);
  };
  const paths = Object.keys(figures) as Path[];
  // Warm every path (JIT, connections) before anything is recorded.
  for (const path of paths) await run(path, Math.min(200, calls));
  for (let round = 0; round < rounds; round++) {
    for (const path of rotate(paths, round)) figures[path].push(summarize(await run(path, calls)));
  }
  return figures;
}

export function mcpRows(figures: McpFigures): Row[] {
  return TRANSPORTS.map((transport): Row => {
    const of = (who: 'service' | 'direct', key: 'p50' | 'p99'): number =>
      median(figures[`${transport}:${who}`].map((s) => s[key]));
    const p50 = of('service', 'p50');
    return {
      figure: `MCP tool call over ${LABEL[transport]}: time beyond the tool's own work, p50 / p99 (direct: the bare SDK client)`,
      service: `${ms(p50)} / ${ms(of('service', 'p99'))}`,
      floor: '',
      direct: `${ms(of('direct', 'p50'))} / ${ms(of('direct', 'p99'))}`,
      ratio: times(p50 / of('direct', 'p50')),
      target: `p50 ≤ ${TARGET_P50_MS} ms`,
      result: verdict(p50 <= TARGET_P50_MS),
    };
  });
}

export const mcp = defineScenario<McpConfig>({
  name: 'mcp',
  summary: "MCP round trip over stdio and Streamable HTTP, beyond the tool's own time",
  config: { full: { mcpCalls: 2000 }, smoke: { mcpCalls: 50 } },
  settings: (config) => [`mcp: ${config.mcpCalls} sequential echo calls per transport and round`],
  async run(_bench, config) {
    const started = await startMcpBench();
    try {
      const figures = await measureMcp(started, config.rounds, config.mcpCalls);
      progress('mcp round trips done');
      return { rows: mcpRows(figures), figures };
    } finally {
      await started.stop();
    }
  },
});
