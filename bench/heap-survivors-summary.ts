/**
 * Sums a sampling heap profile of survivors (bench/heap-survivors-preload.mjs) by allocating function, and by the
 * first frame of our code (src/) on its stack: what the heap holds at the profile's moment, KB, and what grew
 * between two profiles of one process (`--base FILE`), KB and KB per row when `--rows N` (rows read in between).
 *
 *   node --import tsx bench/heap-survivors-summary.ts survivors-<pid>-3.json [--base survivors-<pid>-2.json] [--rows N] [--top 30]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  callFrame: CallFrame;
  selfSize: number;
  id: number;
  children: ProfileNode[];
}
interface Sample {
  size: number;
  nodeId: number;
}
interface Profile {
  head: ProfileNode;
  samples: Sample[];
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { base: { type: 'string' }, rows: { type: 'string' }, top: { type: 'string' } },
});

const short = (f: CallFrame) => {
  const file = f.url
    .replace(/^.*\/(node_modules\/)/, '$1')
    .replace(/^.*\/(src|bench)\//, '$1/')
    .replace(/^file:\/\//, '');
  return `${f.functionName || '(anonymous)'} ${file}:${f.lineNumber + 1}`;
};

/** Bytes by key for one profile: key = allocating frame; key2 = allocating frame under the nearest src/ frame. */
function sums(file: string): { self: Map<string, number>; ours: Map<string, number>; total: number } {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const self = new Map<string, number>();
  const ours = new Map<string, number>();
  let total = 0;
  const walk = (n: ProfileNode, stack: CallFrame[]) => {
    const s = [...stack, n.callFrame];
    if (n.selfSize > 0) {
      total += n.selfSize;
      const top = short(n.callFrame);
      self.set(top, (self.get(top) ?? 0) + n.selfSize);
      const mine = [...s].reverse().find((f) => /\/src\//.test(f.url) && !/node_modules/.test(f.url));
      const k = `${mine ? short(mine) : '(no src frame)'}  <-  ${top}`;
      ours.set(k, (ours.get(k) ?? 0) + n.selfSize);
    }
    for (const c of n.children) walk(c, s);
  };
  walk(p.head, []);
  return { self, ours, total };
}

const top = Number(values.top ?? 30);
const rows = values.rows ? Number(values.rows) : undefined;
const now = sums(positionals[0]!);
const base = values.base ? sums(values.base) : undefined;
const diff = (a: Map<string, number>, b?: Map<string, number>) => {
  const out = new Map(a);
  if (b) for (const [k, v] of b) out.set(k, (out.get(k) ?? 0) - v);
  return [...out].sort((x, y) => y[1] - x[1]).slice(0, top);
};
const fmt = (bytes: number) =>
  `${(bytes / 1024).toFixed(0).padStart(9)} KB${rows ? `  ${(bytes / 1024 / rows).toFixed(3).padStart(8)} KB/row` : ''}`;
console.log(`total ${fmt(now.total - (base?.total ?? 0))}${base ? ' (grown since base)' : ''}`);
console.log('\nby allocating function:');
for (const [k, v] of diff(now.self, base?.self)) console.log(`${fmt(v)}  ${k}`);
console.log('\nby nearest src/ frame <- allocating function:');
for (const [k, v] of diff(now.ours, base?.ours)) console.log(`${fmt(v)}  ${k}`);
