/**
 * Resident memory with many streams open at once, on the B servers: `memoryStreams`
 * streams held open together (the stamping upstream sends a chunk every `memoryDelayMs`
 * until its gate opens) while RSS is sampled from /proc; then RSS as the server settles,
 * and RSS and live heap after a full GC forced through the inspector.
 *
 * Reports RSS before, at peak (target ≤ 200 MB, every stream open at once, none failed),
 * after close with and without GC (≤ 1.25× the baseline after GC), live heap, and the time
 * to open them all.
 *
 * The same is measured on L3 of the layers scenario (bench/layers/nest-openai.ts: the
 * floor's work behind a minimal Nest app calling the upstream through the openai SDK),
 * started for this scenario on the stamping upstream: what the card's libraries hold for
 * the same streams, used minimally. It runs under tsx, as the floor does, which adds to its
 * baseline (not to what the streams add): the row compares what the streams add.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { createConversations } from '../lib/database';
import { StreamObservation, streamTurn } from '../lib/load';
import { takeHeapSnapshot } from '../lib/inspector';
import { heapStats, heapUsed, LiveMemory, liveMemory } from '../lib/memory';
import { freePort, rssBytes } from '../lib/processes';
import { progress } from '../lib/progress';
import { mb, ms, reportRow, Row, times } from '../lib/report';
import { defineScenario } from '../lib/scenario';
import { Server, SERVERS, verdict } from '../lib/series';
import type { Target } from '../lib/servers';
import { median } from '../lib/stats';
import { streamUrl } from '../lib/turns';
import { stampMessage } from '../stamp-upstream';

export interface MemoryConfig {
  memoryStreams: number;
  /** How long all streams are held open together while RSS is sampled. */
  memoryHoldMs: number;
  memoryDelayMs: number;
  memoryAfterMs: number;
}

export interface MemoryResult {
  streams: number;
  /** V8 heap in use: before, with every stream open, and after they closed. */
  baselineHeap: number;
  allOpenHeap: number;
  /** The V8 heap reserved, and memory outside it, with every stream open (service only). */
  allOpenHeapTotal: number;
  allOpenExternal: number;
  afterHeap: number;
  /** What is still alive after a full garbage collection, before the streams and after. */
  baselineLive: LiveMemory;
  afterLive: LiveMemory;
  maxOpen: number;
  failed: number;
  /** How long it took until every stream was open, ms. */
  openAllMs: number;
  baselineRss: number;
  /** Highest RSS sampled while every stream was open. */
  allOpenRss: number;
  peakRss: number;
  afterRss: number;
  afterSamples: { afterMs: number; rss: number }[];
}

export const memory = defineScenario<MemoryConfig>({
  name: 'memory',
  summary: 'resident memory with many streams open at once, and after they close',
  config: {
    full: { memoryStreams: 1000, memoryHoldMs: 3000, memoryDelayMs: 1000, memoryAfterMs: 10_000 },
    smoke: { memoryStreams: 50, memoryHoldMs: 500, memoryDelayMs: 100, memoryAfterMs: 1000 },
  },
  async run(bench, config) {
    const results: Partial<Record<Server | 'openai', MemoryResult>> = {};
    for (const system of SERVERS) {
      const snapshots = bench.flags.heapSnapshot && system === 'service' ? SNAPSHOTS : undefined;
      results[system] = await measureMemory(
        bench.b[system],
        config,
        bench.upstreams.stamp,
        snapshots,
      );
      progress(`memory (${system}) done`);
    }
    const stamp = bench.upstreams.stamp;
    const inspectPort = await freePort();
    const rung = await bench.servers.layer('layer-openai-memory', 'nest-openai.ts', stamp, {
      inspectPort,
    });
    results.openai = await measureMemory(rung, config, stamp);
    await bench.servers.stop(rung);
    progress('memory (L3 Nest + openai SDK) done');
    const service = results.service as MemoryResult;
    const floor = results.floor as MemoryResult;
    const rows = [
      ...memoryRows(service, floor, config),
      ...rungRows(service, floor, results.openai, config),
    ];
    return { rows, figures: results };
  },
});

/** Where `--heap-snapshot` writes the service's heap: idle, and with every stream open. */
const SNAPSHOTS = path.join(__dirname, '..', 'results', 'profiles', 'memory');

/**
 * Opens the streams, holds them, lets them finish, and samples memory all along; with
 * `snapshots` (a path prefix), writes heap snapshots before the streams and while all are
 * open (see bench/heap-diff.ts).
 */
export async function measureMemory(
  target: Target,
  config: MemoryConfig,
  stampOrigin: string,
  snapshots?: string,
): Promise<MemoryResult> {
  const conversations = await createConversations(target.pool, config.memoryStreams, 0);
  const baselineLive = await liveMemory(target);
  const snapshot = async (name: string): Promise<void> => {
    if (!snapshots || target.inspectPort === undefined) return;
    mkdirSync(path.dirname(snapshots), { recursive: true });
    await takeHeapSnapshot(target.inspectPort, `${snapshots}-${name}.heapsnapshot`);
    progress(`heap snapshot written: ${snapshots}-${name}.heapsnapshot`);
  };
  await snapshot('idle');
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    samples.push(rssBytes(target.child.pid));
    await sleep(100);
  }
  const baselineRss = median(samples);
  const baselineHeap = await heapUsed(target);
  const held = await holdStreams(target, conversations, config, stampOrigin, baselineRss, () =>
    snapshot('open'),
  );
  const afterSamples = await sampleAfterClose(target, config.memoryAfterMs);
  const afterHeap = await heapUsed(target);
  const afterLive = await liveMemory(target);
  const failed = held.observations.filter((o) => !o || o.status !== 200 || !o.completed).length;
  target.served += config.memoryStreams - failed;
  return {
    streams: config.memoryStreams,
    baselineHeap,
    allOpenHeap: held.allOpenHeap,
    allOpenHeapTotal: held.allOpenHeapTotal,
    allOpenExternal: held.allOpenExternal,
    afterHeap,
    baselineLive,
    afterLive,
    maxOpen: held.maxOpen,
    failed,
    openAllMs: held.openAllMs,
    baselineRss,
    allOpenRss: held.allOpenRss || Number.NaN,
    peakRss: held.peakRss,
    afterRss: afterSamples.at(-1)?.rss ?? Number.NaN,
    afterSamples,
  };
}

/** Streams open and settled so far, and RSS as sampled while they were open. */
interface Hold {
  open: number;
  maxOpen: number;
  settled: number;
  peakRss: number;
  allOpenRss: number;
}

interface Held extends Hold {
  observations: (StreamObservation | null)[];
  openAllMs: number;
  allOpenHeap: number;
  allOpenHeapTotal: number;
  allOpenExternal: number;
}

/**
 * Opens one stream per conversation, all at once, each held open by the upstream until its
 * gate opens; samples RSS while they are open, then opens the gate and waits for them all.
 */
async function holdStreams(
  target: Target,
  conversations: string[],
  config: MemoryConfig,
  stampOrigin: string,
  baselineRss: number,
  whileOpen: () => Promise<void>,
): Promise<Held> {
  const all = config.memoryStreams;
  const hold: Hold = { open: 0, maxOpen: 0, settled: 0, peakRss: baselineRss, allOpenRss: 0 };
  const sampler = setInterval(() => {
    const rss = rssBytes(target.child.pid);
    hold.peakRss = Math.max(hold.peakRss, rss);
    if (hold.open === all) hold.allOpenRss = Math.max(hold.allOpenRss, rss);
  }, 200);
  // No keep-alive: when a stream ends its connection goes too, as a browser tab's would.
  const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
  const gate = `${target.label}-${randomBytes(4).toString('hex')}`;
  const message = stampMessage({ chunks: 1, delayMs: config.memoryDelayMs, gate });
  const started = performance.now();
  const streams = Promise.all(
    conversations.map((id) => heldStream(streamUrl(target, id), message, agent, hold)),
  );
  const deadline = started + 120_000;
  while (hold.open < all && hold.settled < all && performance.now() < deadline) await sleep(50);
  const openAllMs = performance.now() - started;
  await sleep(config.memoryHoldMs);
  hold.allOpenRss = Math.max(hold.allOpenRss, rssBytes(target.child.pid));
  const allOpenHeap = await heapUsed(target);
  const { total: allOpenHeapTotal, external: allOpenExternal } = await heapStats(target);
  await whileOpen();
  await fetch(`${stampOrigin}/gates/${gate}/open`, { method: 'POST' });
  const observations = await streams;
  clearInterval(sampler);
  hold.peakRss = Math.max(hold.peakRss, rssBytes(target.child.pid));
  agent.destroy();
  return { ...hold, observations, openAllMs, allOpenHeap, allOpenHeapTotal, allOpenExternal };
}

/** One stream, counted in `hold` while it is open; null if it failed outright. */
async function heldStream(
  url: string,
  message: string,
  agent: http.Agent,
  hold: Hold,
): Promise<StreamObservation | null> {
  let opened = false;
  const onOpen = (): void => {
    opened = true;
    hold.open++;
    hold.maxOpen = Math.max(hold.maxOpen, hold.open);
  };
  const observation = await streamTurn(
    url,
    { message },
    { agent, protocol: 'service', onOpen },
  ).catch(() => null);
  if (opened) hold.open--;
  hold.settled++;
  return observation;
}

/** RSS 1, 2, 5 and 10 s after the streams closed (as far as `afterMs` reaches). */
async function sampleAfterClose(
  target: Target,
  afterMs: number,
): Promise<{ afterMs: number; rss: number }[]> {
  const samples: { afterMs: number; rss: number }[] = [];
  const closed = performance.now();
  for (const at of [1000, 2000, 5000, 10_000].filter((t) => t <= afterMs)) {
    await sleep(Math.max(0, at - (performance.now() - closed)));
    samples.push({ afterMs: at, rss: rssBytes(target.child.pid) });
  }
  return samples;
}

function memoryRows(service: MemoryResult, floor: MemoryResult, config: MemoryConfig): Row[] {
  const streams = config.memoryStreams;
  const notAllOpen = service.maxOpen < streams ? ` (only ${service.maxOpen} open at once)` : '';
  const rssRatio = (r: MemoryResult): string => times(r.afterLive.rss / r.baselineLive.rss);
  return [
    reportRow(
      'RSS before the streams (after a full GC)',
      mb(service.baselineLive.rss),
      mb(floor.baselineLive.rss),
      times(service.baselineLive.rss / floor.baselineLive.rss),
    ),
    {
      figure: `RSS with ${streams} concurrent open streams (peak)`,
      service: `${mb(service.peakRss)}${notAllOpen}`,
      floor: mb(floor.peakRss),
      direct: '',
      ratio: times(service.peakRss / floor.peakRss),
      target: '≤ 200 MB',
      result: verdict(
        service.peakRss <= 200 * 1024 ** 2 && service.maxOpen === streams && service.failed === 0,
      ),
    },
    reportRow(
      'RSS per open stream: (peak − before) ÷ streams',
      kb((service.peakRss - service.baselineRss) / streams),
      kb((floor.peakRss - floor.baselineRss) / streams),
      '',
    ),
    reportRow(
      'V8 heap with every stream open: used / reserved; outside the heap (external)',
      `${mb(service.allOpenHeap)} / ${mb(service.allOpenHeapTotal)}; ${mb(service.allOpenExternal)}`,
      mb(floor.allOpenHeap),
      '',
    ),
    reportRow(
      `RSS ${config.memoryAfterMs / 1000} s after they closed (no GC forced)`,
      mb(service.afterRss),
      mb(floor.afterRss),
      '',
    ),
    {
      figure: 'RSS after they closed, after a full GC',
      service: mb(service.afterLive.rss),
      floor: mb(floor.afterLive.rss),
      direct: '',
      ratio: `${rssRatio(service)} of baseline (floor ${rssRatio(floor)})`,
      target: '≤ 1.25× baseline',
      result: verdict(service.afterLive.rss <= 1.25 * service.baselineLive.rss),
    },
    reportRow(
      'live heap after a full GC: baseline → after close',
      `${mb(service.baselineLive.heap)} → ${mb(service.afterLive.heap)}`,
      `${mb(floor.baselineLive.heap)} → ${mb(floor.afterLive.heap)}`,
      `${times(service.afterLive.heap / service.baselineLive.heap)} of baseline`,
    ),
    reportRow(
      `time to open ${streams} streams at once`,
      ms(service.openAllMs),
      ms(floor.openAllMs),
      times(service.openAllMs / floor.openAllMs),
    ),
  ];
}

const kb = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KB`;

/** L3 (Nest + openai SDK, used minimally) beside the floor, and the service beside L3. */
function rungRows(
  service: MemoryResult,
  floor: MemoryResult,
  rung: MemoryResult,
  config: MemoryConfig,
): Row[] {
  const added = (r: MemoryResult): number => r.peakRss - r.baselineRss;
  const failed = rung.failed > 0 ? ` (${rung.failed} failed)` : '';
  const streams = config.memoryStreams;
  return [
    reportRow(
      `L3 Nest + openai SDK: RSS before → with ${streams} open streams (peak), over L0`,
      `${mb(rung.baselineRss)} → ${mb(rung.peakRss)}${failed}`,
      `${mb(floor.baselineRss)} → ${mb(floor.peakRss)}`,
      `${times(rung.peakRss / floor.peakRss)} (added ${times(added(rung) / added(floor))})`,
    ),
    reportRow(
      `RSS the ${streams} streams add: service ÷ L3 (L3 in the floor column)`,
      mb(added(service)),
      mb(added(rung)),
      times(added(service) / added(rung)),
    ),
  ];
}
