/**
 * `npm run bench` — what the service adds on top of the LLM, measured against two
 * baselines in the same run: the same request sent straight to the upstream ("direct"),
 * and the floor (bench/floor-server.ts: the same durable work with only node:http and pg).
 * Rounds alternate service / floor / direct (rotating who goes first) and every figure is
 * the median over rounds. Each scenario is a file in bench/scenarios/; see bench/README.md.
 *
 *   npm run bench [-- --smoke] [--latency-ms N] [--token-delay-ms N] [--rounds N]
 *                 [--cpu-prof] [--only <scenario>,…]   (names: bench/scenarios/index.ts)
 */
import { existsSync } from 'node:fs';
import path from 'node:path';

import { parseFlags } from './lib/flags';
import { progress } from './lib/progress';
import type { Row } from './lib/report';
import { RESULTS, writeProfileSummary, writeResults } from './lib/results';
import { Bench, buildConfig, Mode, RunConfig, Scenario, scenarioConfig } from './lib/scenario';
import { Session } from './lib/session';
import { setUp, warmUp } from './lib/setup';
import { SCENARIOS } from './scenarios';

const ROOT = path.resolve(__dirname, '..');

async function main(): Promise<void> {
  const wallStart = performance.now();
  const flags = parseFlags(
    process.argv.slice(2),
    SCENARIOS.map((s) => s.name),
    SCENARIOS.filter((s) => s.optIn).map((s) => s.name),
  );
  const mode: Mode = flags.smoke ? 'smoke' : 'full';
  const config = buildConfig(mode, SCENARIOS, flags.rounds);
  if (!existsSync(path.join(ROOT, 'dist', 'main.js'))) {
    throw new Error('dist/main.js is missing: run `npm run bench`, which builds the service first');
  }
  const profileDir = flags.cpuProf ? path.join(RESULTS, 'profiles') : undefined;
  const session = new Session();
  session.handleSignals();
  let failed = true;
  let bench: Bench | undefined;
  try {
    progress(`${mode} run, ${config.rounds} round(s); logs in ${session.work}`);
    const started = await setUp(session, flags, profileDir);
    bench = started.bench;
    progress(`ready after ${((performance.now() - wallStart) / 1000).toFixed(1)} s`);
    await warmUp(bench, config.warmupSec);
    const scenarios = SCENARIOS.filter((s) => flags.only.has(s.name));
    const measured = await runScenarios(bench, scenarios, mode, config);
    const wallSec = (performance.now() - wallStart) / 1000;
    const complete = SCENARIOS.every((s) => s.optIn || flags.only.has(s.name));
    const optInOnly = scenarios.every((s) => s.optIn)
      ? scenarios.map((s) => s.name).join('-')
      : undefined;
    writeResults({
      flags,
      config,
      pgVersion: started.pgVersion,
      wallSec,
      complete,
      optInOnly,
      ...measured,
    });
    failed = false;
  } finally {
    await session.close(failed);
  }
  // The profiles are written as the servers exit, so they are read after the cleanup.
  if (profileDir && bench) writeProfileSummary(profileDir, await bench.servers.started());
}

/** Runs each scenario in turn and collects its rows, figures and settings lines. */
async function runScenarios(
  bench: Bench,
  scenarios: readonly Scenario[],
  mode: Mode,
  config: RunConfig,
): Promise<{ rows: Row[]; figures: Record<string, unknown>; settings: string[] }> {
  const rows: Row[] = [];
  const figures: Record<string, unknown> = {};
  const settings: string[] = [];
  for (const scenario of scenarios) {
    const own = scenarioConfig(scenario, mode, config);
    const report = await scenario.run(bench, own);
    rows.push(...report.rows);
    figures[scenario.name] = report.figures;
    settings.push(...(scenario.settings?.(own) ?? []));
  }
  return { rows, figures, settings };
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(
      `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
