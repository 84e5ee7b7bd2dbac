import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { mainThreadProfile, summarizeProfile } from './cpu-profile';
import type { Flags } from './flags';
import { progress } from './progress';
import { describeMachine, machineMarkdown, markdownTable, renderTable, Row } from './report';
import type { RunConfig } from './scenario';

const ROOT = path.resolve(__dirname, '..', '..');
export const RESULTS = path.resolve(__dirname, '..', 'results');

export interface Results {
  flags: Flags;
  config: RunConfig & Record<string, unknown>;
  pgVersion: string;
  /** Settings lines the scenarios that ran contributed. */
  settings: string[];
  wallSec: number;
  rows: Row[];
  figures: Record<string, unknown>;
  /** Every scenario ran: only then does a full run replace results/latest.*. */
  complete: boolean;
  /** A run of opt-in scenarios only writes results/<their names>.* (e.g. scale.md). */
  optInOnly?: string;
}

/** Prints the results and writes them as results/{latest,partial,smoke}.{md,json}. */
export function writeResults(results: Results): void {
  const { flags, config, rows } = results;
  const machine = describeMachine(
    `PostgreSQL ${results.pgVersion} (embedded, fsync on, synchronous_commit on)`,
  );
  const misses = rows.filter((row) => row.result === 'miss');
  const settings = [
    `service measured: ${serviceVersion()}`,
    `mode: ${flags.smoke ? 'smoke (no thresholds)' : 'full'}; ${config.rounds} alternating rounds, medians reported`,
    `upstream: FakeLlmServer, latency ${flags.latencyMs} ms, token delay ${flags.tokenDelayMs} ms`,
    ...(flags.serviceNodeFlags.length > 0
      ? [`service started with: node ${flags.serviceNodeFlags.join(' ')} dist/main.js`]
      : []),
    ...results.settings,
    `wall time of bench/run.ts: ${results.wallSec.toFixed(0)} s`,
  ];
  const markdown = [
    `# Benchmark results${flags.smoke ? ' (smoke)' : ''}`,
    '',
    machineMarkdown(machine),
    '',
    ...settings.map((line) => `- ${line}`),
    '',
    markdownTable(rows),
    '',
    flags.smoke
      ? 'Smoke run: too short to mean anything; it only proves the harness works.'
      : misses.length
        ? `Missed: ${misses.map((row) => row.figure).join('; ')}.`
        : 'Every target met.',
    '',
  ].join('\n');
  process.stdout.write(`\n${markdown}`);
  mkdirSync(RESULTS, { recursive: true });
  const base = flags.smoke
    ? 'smoke'
    : results.complete
      ? 'latest'
      : (results.optInOnly ?? 'partial');
  const json = {
    machine,
    mode: flags.smoke ? 'smoke' : 'full',
    flags: { ...flags, only: [...flags.only] },
    config,
    wallSec: results.wallSec,
    rows,
    figures: results.figures,
  };
  writeFileSync(path.join(RESULTS, `${base}.json`), `${JSON.stringify(json, null, 2)}\n`);
  writeFileSync(path.join(RESULTS, `${base}.md`), markdown);
  progress(`wrote bench/results/${base}.json and ${base}.md`);
}

/** The commit the service was built from, and whether src/ had uncommitted changes. */
function serviceVersion(): string {
  try {
    const git = (...args: string[]): string =>
      execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = git('status', '--porcelain', '--', 'src').split('\n').filter(Boolean);
    return `commit ${git('rev-parse', '--short', 'HEAD')}${dirty.length ? ` + uncommitted changes in ${dirty.map((line) => line.slice(3)).join(', ')}` : ''}`;
  } catch {
    return 'unknown (no git)';
  }
}

/** Where each server's main thread spent its time, by layer, per turn it served. */
export function writeProfileSummary(
  profileDir: string,
  targets: { label: string; served: number }[],
): void {
  const lines = [
    '# CPU profiles by layer',
    '',
    'Main thread, start-up excluded; sampled time while not idle, so a syscall counts with the time it blocked. Per turn = over every turn the server completed in the run (for the B servers, streamed turns whose cost is mostly their deltas). `server process CPU per turn` in the results is the exact CPU figure.',
    '',
  ];
  for (const target of targets) {
    const file = mainThreadProfile(path.join(profileDir, target.label));
    if (file) lines.push(...profileSection(file, target), '');
  }
  const text = lines.join('\n');
  writeFileSync(path.join(profileDir, 'summary.md'), text);
  process.stdout.write(`\n${text}`);
  progress(`wrote ${path.relative(ROOT, path.join(profileDir, 'summary.md'))}`);
}

function profileSection(file: string, target: { label: string; served: number }): string[] {
  const summary = summarizeProfile(file);
  const perTurn = (value: number): string =>
    target.served > 0 ? `${(value / target.served).toFixed(3)} ms` : 'n/a';
  return [
    `## ${target.label}: ${summary.busyMs.toFixed(0)} ms busy over ${target.served} turns (${perTurn(summary.busyMs)} per turn)`,
    '',
    renderTable(
      ['layer', 'per turn', 'share'],
      summary.categories.map((c) => [
        c.name,
        perTurn(c.ms),
        `${((100 * c.ms) / summary.busyMs).toFixed(1)}%`,
      ]),
    ),
    '',
    `profile: ${path.relative(ROOT, file)}`,
  ];
}
