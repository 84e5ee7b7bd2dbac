import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface Machine {
  date: string;
  cpuModel: string;
  nproc: number;
  memoryGiB: number;
  node: string;
  kernel: string;
  postgres: string;
}

export function describeMachine(postgres: string): Machine {
  let cpuModel = os.cpus()[0]?.model ?? 'unknown';
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (match) cpuModel = match[1].trim();
  } catch {
    // not Linux
  }
  return {
    date: new Date().toISOString(),
    cpuModel,
    nproc: os.availableParallelism(),
    memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    kernel: `${os.type()} ${os.release()}`,
    postgres,
  };
}

export type Verdict = 'pass' | 'miss' | 'report';

export interface Row {
  figure: string;
  service: string;
  floor: string;
  direct: string;
  ratio: string;
  target: string;
  result: Verdict;
}

/** A row with no direct baseline and no target: reported next to the floor's, not judged. */
export const reportRow = (figure: string, service: string, floor: string, ratio: string): Row => ({
  figure,
  service,
  floor,
  direct: '',
  ratio,
  target: 'report',
  result: 'report',
});

/** A check, not a measure: the answers compared are equal, or how they differ. */
export const sameAnswersRow = (figure: string, mismatch: string | null): Row => ({
  figure,
  service: mismatch ? `differ: ${mismatch}` : 'equal',
  floor: '',
  direct: '',
  ratio: '',
  target: 'equal',
  result: mismatch === null ? 'pass' : 'miss',
});

export function renderTable(header: string[], cells: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (values: string[]): string =>
    `| ${values.map((v, i) => v.padEnd(widths[i])).join(' | ')} |`;
  return [
    line(header),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...cells.map(line),
  ].join('\n');
}

export function markdownTable(rows: Row[]): string {
  return renderTable(
    ['figure', 'service', 'floor', 'direct', 'ratio', 'target', 'result'],
    rows.map((r) => [r.figure, r.service, r.floor, r.direct, r.ratio, r.target, r.result]),
  );
}

export function machineMarkdown(machine: Machine): string {
  return [
    `- date: ${machine.date}`,
    `- CPU: ${machine.cpuModel}, ${machine.nproc} cores (nproc)`,
    `- memory: ${machine.memoryGiB} GiB`,
    `- Node.js ${machine.node}, ${machine.kernel}`,
    `- ${machine.postgres}`,
  ].join('\n');
}

export const ms = (value: number): string =>
  Number.isFinite(value) ? `${value.toFixed(2)} ms` : 'n/a';
export const us = (value: number): string =>
  Number.isFinite(value) ? `${(value / 1000).toFixed(3)} ms` : 'n/a';
export const mb = (bytes: number): string =>
  Number.isFinite(bytes) ? `${(bytes / 1024 ** 2).toFixed(1)} MB` : 'n/a';
export const times = (value: number): string =>
  Number.isFinite(value) ? `${value.toFixed(2)}×` : 'n/a';
export const num = (value: number, digits = 0): string =>
  Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
