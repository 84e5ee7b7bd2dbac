/**
 * `npm run bench:mcp [-- --rounds N --calls N]`: the `mcp` scenario alone, without the
 * database and servers the full bench starts; prints its rows.
 */
import { startMcpBench } from './lib/mcp';
import { markdownTable } from './lib/report';
import { mcpRows, measureMcp } from './scenarios/mcp';

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  return at === -1 ? fallback : Number(process.argv[at + 1]);
}

async function main(): Promise<void> {
  const rounds = flag('--rounds', 5);
  const calls = flag('--calls', 2000);
  const bench = await startMcpBench();
  try {
    const figures = await measureMcp(bench, rounds, calls);
    process.stdout.write(`${rounds} rounds of ${calls} sequential calls per transport\n\n`);
    process.stdout.write(`${markdownTable(mcpRows(figures))}\n`);
  } finally {
    await bench.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(
      `bench:mcp failed: ${error instanceof Error ? error.stack : String(error)}\n`,
    );
    process.exit(1);
  },
);
