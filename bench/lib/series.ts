import type { Verdict } from './report';
import { median, rotate } from './stats';

/** What every figure compares: the service, the floor, and the upstream called directly. */
export const SYSTEMS = ['service', 'floor', 'direct'] as const;
export type SystemName = (typeof SYSTEMS)[number];
/** The systems that are servers of ours (everything but the direct baseline). */
export type Server = Exclude<SystemName, 'direct'>;
export const SERVERS = ['service', 'floor'] as const satisfies readonly Server[];

/** The order the systems go in `round`: who goes first rotates, so noise hits all alike. */
export const systemsInRound = (round: number): SystemName[] => rotate(SYSTEMS, round);

/** One system's summary of one round. */
export interface RoundStat {
  n: number;
  p50: number;
  p99: number;
  errors: number;
  /** Turns (or requests) per second, for load runs. */
  rate?: number;
  /** CPU time (user + system) of the server process per completed turn, ms. */
  cpuMsPerTurn?: number;
}

/** Every round's stat, per system; index i of each list is round i. */
export type Series = Record<SystemName, RoundStat[]>;
export const newSeries = (): Series => ({ service: [], floor: [], direct: [] });

export type Percentile = 'p50' | 'p99';

/** Median over rounds of one percentile. */
export const medianOf = (stats: RoundStat[], key: Percentile): number =>
  median(stats.map((stat) => stat[key]));

/** Median over rounds of what `system` adds to the direct baseline measured in the same round. */
export const medianOverDirect = (series: Series, system: Server, key: Percentile): number =>
  median(series[system].map((stat, i) => stat[key] - series.direct[i][key]));

/** Median over rounds of the server's CPU time per turn. */
export const medianCpu = (series: Series, system: Server): number =>
  median(series[system].map((stat) => stat.cpuMsPerTurn ?? Number.NaN));

export const totalErrors = (stats: RoundStat[]): number =>
  stats.reduce((sum, stat) => sum + stat.errors, 0);

export const verdict = (ok: boolean): Verdict => (ok ? 'pass' : 'miss');
