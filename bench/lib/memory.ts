import { collectGarbage } from './inspector';
import { rssBytes } from './processes';
import { progress } from './progress';
import type { Target } from './servers';

/** What a server still holds after a full garbage collection. */
export interface LiveMemory {
  heap: number;
  rss: number;
}

/** Heap in use and RSS right after a full garbage collection (through the inspector). */
export async function liveMemory(target: Target): Promise<LiveMemory> {
  if (target.inspectPort === undefined) return { heap: Number.NaN, rss: Number.NaN };
  try {
    await collectGarbage(target.inspectPort);
    await collectGarbage(target.inspectPort);
  } catch (error) {
    progress(`could not collect garbage in ${target.label}: ${String(error)}`);
    return { heap: Number.NaN, rss: Number.NaN };
  }
  return { heap: await heapUsed(target), rss: rssBytes(target.child.pid) };
}

/** V8 heap in use by a server: the service's Prometheus metric, the floor's health answer. */
export async function heapUsed(target: Target): Promise<number> {
  try {
    if (target.name === 'floor') {
      const res = await fetch(`${target.origin}/health`);
      return ((await res.json()) as { heapUsed: number }).heapUsed;
    }
    const text = await (await fetch(`${target.origin}/metrics`)).text();
    const match = /^nodejs_heap_size_used_bytes(?:\{[^}]*\})? (\S+)/m.exec(text);
    return match ? Number(match[1]) : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** The service's V8 heap (used and reserved) and memory held outside it, from /metrics. */
export async function heapStats(
  target: Target,
): Promise<{ used: number; total: number; external: number }> {
  const none = { used: Number.NaN, total: Number.NaN, external: Number.NaN };
  if (target.name === 'floor') return none;
  try {
    const text = await (await fetch(`${target.origin}/metrics`)).text();
    const read = (name: string): number => {
      const match = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)`, 'm').exec(text);
      return match ? Number(match[1]) : Number.NaN;
    };
    return {
      used: read('nodejs_heap_size_used_bytes'),
      total: read('nodejs_heap_size_total_bytes'),
      external: read('nodejs_external_memory_bytes'),
    };
  } catch {
    return none;
  }
}
