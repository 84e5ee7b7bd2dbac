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
