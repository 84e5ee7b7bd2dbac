/**
 * What a heap grew by between two V8 heap snapshots, grouped by what V8 calls each node
 * (a constructor's name for objects, "(closure) name" for functions, "(string)", …),
 * biggest growth first, and per stream when `--per N` says how many streams were open.
 *
 *   npx tsx bench/heap-diff.ts bench/results/profiles/memory-idle.heapsnapshot \
 *     bench/results/profiles/memory-open.heapsnapshot --per 1000 [--top 40]
 *
 * The snapshots come from `npm run bench -- --only memory --heap-snapshot`.
 */
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

interface Group {
  count: number;
  bytes: number;
}

/** Self sizes summed by group: a node's type, and its name where the name means a kind. */
function groups(file: string): Map<string, Group> {
  const heap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const fields = heap.snapshot.meta.node_fields;
  const types = heap.snapshot.meta.node_types[0];
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f));
  const result = new Map<string, Group>();
  for (let i = 0; i < heap.nodes.length; i += fields.length) {
    const type = types[heap.nodes[i + typeAt]];
    const key = groupOf(type, heap.strings[heap.nodes[i + nameAt]]);
    const group = result.get(key) ?? { count: 0, bytes: 0 };
    group.count++;
    group.bytes += heap.nodes[i + sizeAt];
    result.set(key, group);
  }
  return result;
}

function groupOf(type: string, name: string): string {
  if (type === 'object' || type === 'native') return name;
  if (type === 'closure') return `(closure) ${name || '(anonymous)'}`;
  if (type === 'code' || type === 'hidden' || type === 'array')
    return `(${type}) ${name.slice(0, 40)}`;
  return `(${type})`;
}

function main(): void {
  const [before, after, ...rest] = process.argv.slice(2);
  if (!before || !after)
    throw new Error('usage: heap-diff.ts <before> <after> [--per N] [--top N]');
  const option = (name: string, fallback: number): number => {
    const at = rest.indexOf(name);
    return at < 0 ? fallback : Number(rest[at + 1]);
  };
  const per = option('--per', 1);
  const top = option('--top', 40);
  const a = groups(before);
  const b = groups(after);
  const rows = [...b].map(([key, g]) => {
    const was = a.get(key) ?? { count: 0, bytes: 0 };
    return { key, count: g.count - was.count, bytes: g.bytes - was.bytes };
  });
  rows.sort((x, y) => y.bytes - x.bytes);
  const total = (m: Map<string, Group>) => [...m.values()].reduce((s, g) => s + g.bytes, 0);
  const grown = total(b) - total(a);
  console.log(`heap: ${mb(total(a))} → ${mb(total(b))} (+${mb(grown)}, ${kb(grown / per)} per)`);
  console.log(`${'bytes per'.padStart(12)} ${'count per'.padStart(10)}  group`);
  for (const row of rows.slice(0, top))
    console.log(
      `${kb(row.bytes / per).padStart(12)} ${(row.count / per).toFixed(1).padStart(10)}  ${row.key}`,
    );
}

const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;
const kb = (bytes: number): string => `${(bytes / 1e3).toFixed(2)} KB`;

main();
