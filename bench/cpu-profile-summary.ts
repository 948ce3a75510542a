/**
 * `node --import tsx bench/cpu-profile-summary.ts FILE.cpuprofile [--from S --to S] [--top N]`: self time of one
 * thread's CPU profile (`node --cpu-prof`, as `bench:e2e --cpu-prof` writes them), grouped by module and by
 * function, within the busy span (the longest run of seconds in which the thread was ≥ 50% busy: the load) unless
 * `--from`/`--to` (seconds from the profile's start) say otherwise. Shares are of the span's wall time.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: Node[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { from: { type: 'string' }, to: { type: 'string' }, top: { type: 'string' } },
});
const file = positionals[0];
if (!file) throw new Error('usage: cpu-profile-summary FILE.cpuprofile [--from S --to S] [--top N]');
const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(p.nodes.map((n) => [n.id, n]));

function group(n: Node): string {
  const { functionName: f, url } = n.callFrame;
  if (f === '(idle)' || f === '(program)' || f === '(garbage collector)' || f === '(root)') return f;
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1]!;
  const s = /\/(src|bench|sim)\/(.+?)\.[tj]s$/.exec(url);
  if (s) return `${s[1]}/${s[2]}`;
  if (url.startsWith('node:') || url === '') return 'node internals';
  return 'other';
}

// Per sample: its time (µs) at the sample's end.
const times: number[] = [];
let t = p.startTime;
for (const d of p.timeDeltas) times.push((t += d));
const idleish = (n: Node) => n.callFrame.functionName === '(idle)';
const secOf = (us: number) => Math.floor((us - p.startTime) / 1e6);
const busyPerSec = new Map<number, [number, number]>();
for (let i = 1; i < p.samples.length; i++) {
  const n = byId.get(p.samples[i]!)!;
  const dt = times[i]! - times[i - 1]!;
  const s = secOf(times[i]!);
  const b = busyPerSec.get(s) ?? [0, 0];
  b[1] += dt;
  if (!idleish(n)) b[0] += dt;
  busyPerSec.set(s, b);
}
// The longest run of seconds ≥ 50% busy (start-up, with its idle pauses, is a shorter run before the load).
const busy = (s: number) => {
  const b = busyPerSec.get(s);
  return b !== undefined && b[1] > 0 && b[0] / b[1] >= 0.5;
};
const lastSec = Math.max(...busyPerSec.keys());
let best = { from: 0, to: lastSec + 1 };
for (let s = 0, start = -1; s <= lastSec + 1; s++) {
  if (busy(s) && start < 0) start = s;
  if (!busy(s) && start >= 0) {
    if (s - start > best.to - best.from || best.to - best.from === lastSec + 1) best = { from: start, to: s };
    start = -1;
  }
}
const from = values.from !== undefined ? Number(values.from) : best.from;
const to = values.to !== undefined ? Number(values.to) : best.to;

const groups = new Map<string, number>();
const fns = new Map<string, number>();
let total = 0;
for (let i = 1; i < p.samples.length; i++) {
  const s = (times[i]! - p.startTime) / 1e6;
  if (s < from || s >= to) continue;
  const n = byId.get(p.samples[i]!)!;
  const dt = times[i]! - times[i - 1]!;
  total += dt;
  const g = group(n);
  groups.set(g, (groups.get(g) ?? 0) + dt);
  const fname = `${n.callFrame.functionName || '(anonymous)'} [${g}]`;
  fns.set(fname, (fns.get(fname) ?? 0) + dt);
}
const pct = (us: number) => `${((100 * us) / total).toFixed(1)}%`;
const sec = (us: number) => `${(us / 1e6).toFixed(2)} s`;
console.log(`${file}: span ${from}–${to} s of the profile, ${sec(total)} sampled`);
console.log('by module:');
for (const [g, us] of [...groups].sort((a, b) => b[1] - a[1]).slice(0, 20))
  console.log(`  ${pct(us).padStart(6)}  ${sec(us).padStart(9)}  ${g}`);
console.log('by function:');
for (const [f, us] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top ?? 25)))
  console.log(`  ${pct(us).padStart(6)}  ${sec(us).padStart(9)}  ${f}`);
if (process.env.TIMELINE)
  console.log(
    'busy per second:',
    [...busyPerSec]
      .sort((a, b) => a[0] - b[0])
      .map(([s, [b, all]]) => `${s}:${Math.round((100 * b) / all)}`)
      .join(' '),
  );
