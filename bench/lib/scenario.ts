import type http from 'node:http';

import type { Pool } from 'pg';

import type { Flags } from './flags';
import type { Row } from './report';
import type { Server, SystemName } from './series';
import type { Servers, Target, Upstreams } from './servers';

/** A full run, or a seconds-long smoke run that only proves the harness works. */
export type Mode = 'full' | 'smoke';

/** Settings every scenario shares. */
export interface RunConfig {
  /** Alternating rounds per scenario; every figure is the median over them. */
  rounds: number;
  /** Seconds of load in the warm-up before the first scenario (not recorded). */
  warmupSec: number;
}

export const RUN_CONFIG: Record<Mode, RunConfig> = {
  full: { rounds: 5, warmupSec: 1 },
  smoke: { rounds: 1, warmupSec: 0.3 },
};

/** What the run has started, shared by every scenario. */
export interface Bench {
  upstreams: Upstreams;
  /** Servers on the FakeLlmServer (latency, throughput, history, DB work). */
  a: Record<Server, Target>;
  /** Servers on the chunk-stamping upstream, inspector open so a full GC can be forced. */
  b: Record<Server, Target>;
  /** One keep-alive agent per system, reused across scenarios. */
  agents: Record<SystemName, http.Agent>;
  /** A pool on the `postgres` database, for counters that span databases. */
  adminPool: Pool;
  /** To start more servers (e.g. replicas); all are stopped when the run ends. */
  servers: Servers;
  /** The command line (e.g. `--scale` for the scale scenario). */
  flags: Flags;
}

/** What a scenario hands back: its rows of the results table and its raw figures. */
export interface ScenarioReport {
  rows: Row[];
  /** Stored under the scenario's name in the results' JSON `figures`. */
  figures: unknown;
}

/**
 * One measured scenario. `C` is its own settings; they are merged (flat, in registry order)
 * into the run's config, so two scenarios may not use the same setting name.
 */
export interface Scenario<C extends object = object> {
  /** Its name for `--only` and its key in the results' `figures`. */
  name: string;
  /** What it measures, in one line. */
  summary: string;
  config: { full: C; smoke: C };
  /**
   * Runs only when named in `--only` (never in a plain or smoke run): for scenarios that
   * take long or need a large cached database, like `scale`.
   */
  optIn?: boolean;
  /** Lines it adds to the settings list at the top of the results (only when it runs). */
  settings?(config: C): string[];
  run(bench: Bench, config: C & RunConfig): Promise<ScenarioReport>;
}

/** Identity, for type inference: `export const whole = defineScenario({ … })`. */
export const defineScenario = <C extends object>(scenario: Scenario<C>): Scenario<C> => scenario;

/** The run's config: the shared settings, then each scenario's, as the results report them. */
export function buildConfig(
  mode: Mode,
  scenarios: readonly Scenario[],
  rounds?: number,
): RunConfig & Record<string, unknown> {
  const config: RunConfig & Record<string, unknown> = { ...RUN_CONFIG[mode] };
  if (rounds) config.rounds = rounds;
  for (const scenario of scenarios) {
    for (const [key, value] of Object.entries(scenario.config[mode])) {
      if (key in config) throw new Error(`scenario ${scenario.name}: setting ${key} is taken`);
      config[key] = value;
    }
  }
  return config;
}

/** One scenario's own settings plus the shared ones, for its `run`. */
export function scenarioConfig(scenario: Scenario, mode: Mode, run: RunConfig): RunConfig {
  return { ...scenario.config[mode], rounds: run.rounds, warmupSec: run.warmupSec };
}
