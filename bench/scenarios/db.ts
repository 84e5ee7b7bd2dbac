/**
 * What a turn costs the database, read from PostgreSQL's own counters on the A servers:
 * sequential whole-reply turns, then streamed ones; statements and their execution time
 * from pg_stat_statements, write commits from the advance of the transaction id, and
 * (full runs only, after PostgreSQL's 10 s stats flush) pg_stat_database.xact_commit.
 *
 * Reports each per turn next to the floor's; no targets.
 */
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

import type { Pool } from 'pg';

import {
  createConversations,
  DbCounters,
  readCounters,
  statementDelta,
  StatementDelta,
} from '../lib/database';
import { streamTurn } from '../lib/load';
import { progress } from '../lib/progress';
import { ms, num, reportRow, Row, times } from '../lib/report';
import { Bench, defineScenario } from '../lib/scenario';
import { Server, SERVERS } from '../lib/series';
import type { Target } from '../lib/servers';
import { postJson, SEED_HISTORY, streamUrl, turnPath } from '../lib/turns';

interface DbConfig {
  dbTurns: number;
  dbStreamTurns: number;
  /** PostgreSQL flushes an idle backend's pg_stat_database counters within 10 s. */
  statsFlushWaitMs: number;
}

interface DbCounts {
  statementsPerTurn: number;
  statementsPerStreamTurn: number;
  writeCommitsPerTurn: number;
  /** Time PostgreSQL spent executing the turn's statements (pg_stat_statements), ms. */
  execMsPerTurn: number;
  execMsPerStreamTurn: number;
  /** The part of execMsPerTurn each of the turn's statements took (see TURN_STATEMENTS). */
  execMsByStatement: Record<TurnStatement, number>;
  /** Planning and execution together, per whole-reply turn and by statement, ms. */
  pgMsPerTurn: number;
  pgMsByStatement: Record<TurnStatement, number>;
  xactCommitPerTurn?: number;
  wholeStatements: StatementDelta[];
  streamStatements: StatementDelta[];
}

export const db = defineScenario<DbConfig>({
  name: 'db',
  summary: 'database statements, execution time and commits per turn',
  config: {
    full: { dbTurns: 200, dbStreamTurns: 100, statsFlushWaitMs: 11_000 },
    smoke: { dbTurns: 20, dbStreamTurns: 10, statsFlushWaitMs: 0 },
  },
  async run(bench, config) {
    const prepared: Partial<Record<Server, string[]>> = {};
    for (const system of SERVERS) {
      prepared[system] = await createConversations(bench.a[system].pool, 16, SEED_HISTORY);
    }
    await waitForStatsFlush(config.statsFlushWaitMs);
    const commitsBefore = await xactCommits(bench);
    const counts: Partial<Record<Server, DbCounts>> = {};
    for (const system of SERVERS) {
      const work = { conversations: prepared[system] ?? [], agent: bench.agents[system] };
      counts[system] = await countDbWork(bench.a[system], work, config, bench.adminPool);
    }
    if (config.statsFlushWaitMs > 0) {
      await waitForStatsFlush(config.statsFlushWaitMs);
      const commitsAfter = await xactCommits(bench);
      for (const system of SERVERS) {
        const c = counts[system] as DbCounts;
        c.xactCommitPerTurn =
          (commitsAfter[system] - commitsBefore[system]) / (config.dbTurns + config.dbStreamTurns);
      }
    }
    return { rows: dbRows(counts.service as DbCounts, counts.floor as DbCounts), figures: counts };
  },
});

async function waitForStatsFlush(waitMs: number): Promise<void> {
  if (waitMs <= 0) return;
  progress(`waiting ${waitMs / 1000} s for PostgreSQL to flush its counters`);
  await sleep(waitMs);
}

/** Each server database's commit count so far (pg_stat_database). */
async function xactCommits(bench: Bench): Promise<Record<Server, number>> {
  const commits = { service: 0, floor: 0 };
  for (const system of SERVERS) {
    const target = bench.a[system];
    commits[system] = (await readCounters(bench.adminPool, target.database)).xactCommit;
  }
  return commits;
}

/** Runs sequential turns and reads what they cost the database, from its own counters. */
async function countDbWork(
  target: Target,
  work: { conversations: string[]; agent: http.Agent },
  config: DbConfig,
  adminPool: Pool,
): Promise<DbCounts> {
  const total = (deltas: StatementDelta[]): number => deltas.reduce((sum, d) => sum + d.calls, 0);
  const execMs = (deltas: StatementDelta[]): number =>
    deltas.reduce((sum, d) => sum + d.calls * d.meanExecMs, 0);
  const pgMs = (deltas: StatementDelta[]): number =>
    deltas.reduce((sum, d) => sum + d.calls * (d.meanExecMs + d.meanPlanMs), 0);
  const before: DbCounters = await readCounters(adminPool, target.database);
  await wholeTurns(target, work, config.dbTurns);
  const middle = await readCounters(adminPool, target.database);
  await streamedTurns(target, work, config.dbStreamTurns);
  const after = await readCounters(adminPool, target.database);
  target.served += config.dbTurns + config.dbStreamTurns;
  const wholeStatements = statementDelta(before, middle);
  const streamStatements = statementDelta(middle, after);
  return {
    statementsPerTurn: total(wholeStatements) / config.dbTurns,
    statementsPerStreamTurn: total(streamStatements) / config.dbStreamTurns,
    execMsPerTurn: execMs(wholeStatements) / config.dbTurns,
    execMsPerStreamTurn: execMs(streamStatements) / config.dbStreamTurns,
    execMsByStatement: msByStatement(wholeStatements, config.dbTurns, (d) => d.meanExecMs),
    pgMsPerTurn: pgMs(wholeStatements) / config.dbTurns,
    pgMsByStatement: msByStatement(
      wholeStatements,
      config.dbTurns,
      (d) => d.meanExecMs + d.meanPlanMs,
    ),
    writeCommitsPerTurn:
      Number(after.nextXid - before.nextXid) / (config.dbTurns + config.dbStreamTurns),
    wholeStatements,
    streamStatements,
  };
}

async function wholeTurns(
  target: Target,
  work: { conversations: string[]; agent: http.Agent },
  turns: number,
): Promise<void> {
  for (let i = 0; i < turns; i++) {
    const id = work.conversations[i % work.conversations.length];
    const r = await postJson(`${target.origin}${turnPath(id)}`, { message: 'db turn' }, work.agent);
    if (r.status !== 201) throw new Error(`${target.name}: turn answered ${r.status}`);
  }
}

async function streamedTurns(
  target: Target,
  work: { conversations: string[]; agent: http.Agent },
  turns: number,
): Promise<void> {
  for (let i = 0; i < turns; i++) {
    const id = work.conversations[i % work.conversations.length];
    const options = { agent: work.agent, protocol: 'service' } as const;
    const o = await streamTurn(streamUrl(target, id), { message: 'db turn' }, options);
    if (!o.completed)
      throw new Error(`${target.name}: streamed turn did not complete (${o.status})`);
  }
}

/**
 * A turn's three statements, told apart by how their SQL opens: the service's (Kysely,
 * src/queries/turns.repository.sql) and the floor's (bench/floor-work.ts). Anything else
 * (heartbeats, the sweep) is in the total only.
 */
const TURN_STATEMENTS = {
  claim: { service: /^with "anchor"/, floor: /^UPDATE conversations SET active_turn_id/ },
  begin: { service: /^with "within"/, floor: /^WITH user_message/ },
  finish: { service: /^with "released"/, floor: /^WITH reply/ },
} as const;
type TurnStatement = keyof typeof TURN_STATEMENTS;

/** Each turn statement's time per turn, as `mean` reads it (either system's SQL matches). */
function msByStatement(
  deltas: StatementDelta[],
  turns: number,
  mean: (delta: StatementDelta) => number,
): Record<TurnStatement, number> {
  const byStatement = { claim: 0, begin: 0, finish: 0 };
  for (const [name, { service, floor }] of Object.entries(TURN_STATEMENTS)) {
    const matching = deltas.filter((d) => service.test(d.query) || floor.test(d.query));
    byStatement[name as TurnStatement] =
      matching.reduce((sum, d) => sum + d.calls * mean(d), 0) / turns;
  }
  return byStatement;
}

function dbRows(service: DbCounts, floor: DbCounts): Row[] {
  const row = (figure: string, pick: (c: DbCounts) => number, format = num2): Row =>
    reportRow(
      figure,
      format(pick(service)),
      format(pick(floor)),
      times(pick(service) / pick(floor)),
    );
  const rows = [
    row('DB statements (round trips) per whole-reply turn', (c) => c.statementsPerTurn),
    row('DB statements (round trips) per streamed turn', (c) => c.statementsPerStreamTurn),
    row(
      'DB time per whole-reply turn: planning + execution (pg_stat_statements)',
      (c) => c.pgMsPerTurn,
      ms,
    ),
    ...(Object.keys(TURN_STATEMENTS) as TurnStatement[]).map((name) =>
      row(`… of which the turn's ${name} statement`, (c) => c.pgMsByStatement[name], ms),
    ),
    row('DB execution time per whole-reply turn (pg_stat_statements)', (c) => c.execMsPerTurn, ms),
    ...(Object.keys(TURN_STATEMENTS) as TurnStatement[]).map((name) =>
      row(`… of which the turn's ${name} statement`, (c) => c.execMsByStatement[name], ms),
    ),
    row('DB write commits (fsync) per turn', (c) => c.writeCommitsPerTurn),
  ];
  if (service.xactCommitPerTurn !== undefined && floor.xactCommitPerTurn !== undefined) {
    rows.push(
      row(
        'DB commits per turn (pg_stat_database.xact_commit)',
        (c) => c.xactCommitPerTurn ?? Number.NaN,
      ),
    );
  }
  return rows;
}

const num2 = (value: number): string => num(value, 2);
