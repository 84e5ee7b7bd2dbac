import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/** The parts of a V8 .cpuprofile the summary reads. */
interface CpuProfile {
  nodes: { id: number; callFrame: CallFrame; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
}

interface CallFrame {
  functionName: string;
  url: string;
}

type Matcher = (stack: CallFrame[], top: CallFrame) => boolean;

const has =
  (pattern: RegExp): Matcher =>
  (stack) =>
    stack.some((f) => pattern.test(f.url));

/**
 * Where a server's main thread spends its time, by layer. Each sample goes to the first
 * category that matches its synchronous stack, so the order sets the priority (socket
 * writes are the kernel's, whoever issues them; pg under Prisma counts as Prisma).
 */
const CATEGORIES: [string, Matcher][] = [
  ['garbage collection', (_s, top) => top.functionName === '(garbage collector)'],
  [
    'socket write syscalls (kernel)',
    (_s, top) =>
      !top.url &&
      ['writev', 'writeBuffer', 'writeUtf8String', 'writeLatin1String'].includes(top.functionName),
  ],
  ['Prisma client + adapter', has(/node_modules\/@prisma\//)],
  ['pg driver', has(/node_modules\/pg(-pool|-protocol)?\//)],
  ['openai SDK + fetch (undici)', has(/node_modules\/openai\/|undici/)],
  ['rate limiter (@nestjs/throttler)', has(/throttler/)],
  [
    'validation (class-validator/-transformer)',
    has(/class-validator|class-transformer|pipes-consumer|validation\.pipe/),
  ],
  ['logging (pino, pino-http)', has(/pino|sonic-boom/)],
  ['metrics (prom-client + middleware)', has(/prom-client|\/metrics\//)],
  ['tokenizer', has(/gpt-tokenizer|token-counter/)],
  [
    'express, router, body-parser, helmet',
    has(
      /node_modules\/(express|router|body-parser|raw-body|helmet|finalhandler|send|etag|on-headers|on-finished|content-type|type-is|qs|parseurl|path-to-regexp)\//,
    ),
  ],
  ['Nest core/common', has(/@nestjs\/(core|common|platform-express)/)],
  ['service code (dist/)', has(/\/dist\//)],
  ['floor code', has(/floor-server/)],
  ['node http/net/streams (no package)', () => true],
];

const STARTUP = /cjs\/loader|run_main|esm\/(translators|loader|hooks|worker)|node_modules\/tsx\//;

export interface ProfileSummary {
  file: string;
  /** Main-thread time not idle, start-up (module loading) excluded, ms. */
  busyMs: number;
  categories: { name: string; ms: number }[];
}

export function summarizeProfile(file: string): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parent.set(child, node.id);
  const selfTime = new Map<number, number>();
  profile.samples.forEach((id, i) =>
    selfTime.set(id, (selfTime.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)),
  );
  const totals = new Map<string, number>();
  let busy = 0;
  for (const [id, micros] of selfTime) {
    const top = byId.get(id)?.callFrame;
    if (!top || top.functionName === '(idle)' || top.functionName === '(program)') continue;
    const stack: CallFrame[] = [];
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const frame = byId.get(cur)?.callFrame;
      if (frame) stack.push(frame);
    }
    if (stack.some((frame) => STARTUP.test(frame.url))) continue;
    busy += micros;
    const name = CATEGORIES.find(([, matches]) => matches(stack, top))?.[0] ?? 'other';
    totals.set(name, (totals.get(name) ?? 0) + micros);
  }
  return {
    file,
    busyMs: busy / 1000,
    categories: [...totals]
      .map(([name, micros]) => ({ name, ms: micros / 1000 }))
      .sort((a, b) => b.ms - a.ms),
  };
}

/** The main thread's profile in a directory: the largest file (tsx's loader thread writes one too). */
export function mainThreadProfile(dir: string): string | undefined {
  try {
    return readdirSync(dir)
      .filter((name) => name.endsWith('.cpuprofile'))
      .map((name) => path.join(dir, name))
      .sort((a, b) => statSync(b).size - statSync(a).size)[0];
  } catch {
    return undefined;
  }
}
