/**
 * The worker's CPU by thread role and by what the thread was doing, from a Linux `perf` recording (issue 14: the
 * load's CPU per row, docs/performance.md "The worker's CPU per row by thread"). Node names all its threads
 * `node`, so /proc cannot tell V8's GC helpers from libuv's pool or DuckDB's threads; their stacks can.
 *
 *   perf record -e cpu-clock -F 199 -g -p <worker pid> -o worker.perf      (the worker started with
 *     BENCH_WORKER_NODE_FLAGS="--max-old-space-size=512 --perf-basic-prof-only-functions" for JS names)
 *   perf script -i worker.perf -F tid,time,ip,sym,dso > worker.script
 *   node --import tsx bench/perf-threads.ts worker.script --rows 500000 [--from S --to S] [--hz 199] [--main-tid PID]
 *
 * Attach perf once the worker runs (a few seconds after its pid appears): `perf record -p` misses the threads the
 * process creates while perf attaches, and node creates V8's platform threads at start.
 *
 * `--from/--to` cut the recording to seconds after its first sample (the load, say; without them it prints the
 * samples per 5 s to find the step). Prints µs of CPU per row for each role (main, V8 platform threads,
 * Parquet writers, other JS threads, libuv's pool, DuckDB's own threads) and, within it, per category.
 * `--timeline CATEGORY` (with --from/--to) also prints that category's samples per 5 s of the step, all threads:
 * e.g. `--timeline 'JIT compiler'` tells a start-up cost (the first seconds) from a recurring one (deopts).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rows: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    hz: { type: 'string', default: '199' },
    timeline: { type: 'string' },
    'main-tid': { type: 'string' },
  },
});
const file = positionals[0];
if (!file) throw new Error('usage: perf-threads.ts <perf script output> --rows N [--from S --to S] [--hz 199]');

interface Sample {
  tid: number;
  time: number;
  frames: string[];
}

const samples: Sample[] = [];
for (const line of readFileSync(file, 'utf8').split('\n')) {
  const head = /^\s*(\d+)\s+([\d.]+):\s*$/.exec(line);
  if (head) samples.push({ tid: Number(head[1]), time: Number(head[2]), frames: [] });
  else if (line.trim() && samples.length) samples[samples.length - 1]!.frames.push(line.trim());
}
if (!samples.length) throw new Error(`${file}: no samples`);
const t0 = Math.min(...samples.map((s) => s.time));

/** What a sample was doing, from its whole stack (innermost match wins by order of the tests). */
function category(frames: string[]): string {
  const s = frames.join('\n');
  if (s.includes('Scaveng')) return 'GC scavenge';
  if (s.includes('Sweeper')) return 'GC sweep';
  if (/ConcurrentMarking|MarkCompact|IncrementalMarking/.test(s)) return 'GC marking';
  if (s.includes('v8::internal::compiler::') || /maglev/i.test(s)) return 'JIT compiler';
  if (/libduckdb|duckdb\.node/.test(s)) return 'DuckDB';
  if (s.includes('ValueDeserializer')) return 'structured clone (read)';
  if (s.includes('ValueSerializer')) return 'structured clone (write)';
  if (frames[0]?.includes('[kernel')) return 'kernel';
  return 'other (JS, driver, Node)';
}

/** A thread's role, from the outer frames of all its samples. */
function role(tid: number, ss: Sample[], mainTid: number): string {
  if (tid === mainTid) return 'main';
  const outer = ss.flatMap((s) => s.frames.slice(-4)).join('\n');
  const any = ss.flatMap((s) => s.frames).join('\n');
  if (outer.includes('TaskScheduler::ExecuteForever')) return "DuckDB's own threads";
  if (outer.includes('node::worker::Worker::Run'))
    return /libduckdb|duckdb\.node/.test(any) ? 'Parquet writer threads' : 'other JS threads (Temporal workflows)';
  if (/PlatformWorkerThread|WorkerThreadsTaskRunner/.test(outer)) return "V8's platform threads";
  if (/duckdb/.test(any)) return "libuv's pool, DuckDB's threads";
  return 'other';
}

const byTid = new Map<number, Sample[]>();
for (const s of samples) {
  const ss = byTid.get(s.tid);
  if (ss) ss.push(s);
  else byTid.set(s.tid, [s]);
}
// The process's main thread is the tid that equals the pid (`--main-tid`, the worker's pid); without it, the tid with
// the most samples, which it is during a load. (Not the smallest tid: once pids wrap around, a thread started later
// can have a smaller one.)
const mainTid = values['main-tid']
  ? Number(values['main-tid'])
  : [...byTid].reduce((a, b) => (b[1].length > a[1].length ? b : a))[0];
const roles = new Map([...byTid].map(([tid, ss]) => [tid, role(tid, ss, mainTid)]));

if (values.from === undefined || values.to === undefined) {
  const per5 = new Map<number, number>();
  for (const s of samples)
    per5.set(Math.floor((s.time - t0) / 5) * 5, (per5.get(Math.floor((s.time - t0) / 5) * 5) ?? 0) + 1);
  console.log('samples per 5 s (find the step, then pass --from/--to):');
  for (const [t, n] of [...per5].sort((a, b) => a[0] - b[0])) console.log(`  ${String(t).padStart(5)} s  ${n}`);
} else {
  const from = Number(values.from);
  const to = Number(values.to);
  const rows = Number(values.rows);
  if (!(rows > 0)) throw new Error('--rows N: the rows of the step');
  const us = (n: number) => ((n / Number(values.hz)) * 1e6) / rows;
  const agg = new Map<string, Map<string, number>>();
  for (const s of samples) {
    if (s.time - t0 < from || s.time - t0 >= to) continue;
    const r = roles.get(s.tid)!;
    const m = agg.get(r) ?? new Map<string, number>();
    const c = category(s.frames);
    m.set(c, (m.get(c) ?? 0) + 1);
    agg.set(r, m);
  }
  const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
  console.log(`µs of CPU per row (${rows} rows, ${from}–${to} s), by thread role and category:`);
  for (const [r, m] of [...agg].sort((a, b) => total(b[1]) - total(a[1]))) {
    const parts = [...m]
      .sort((a, b) => b[1] - a[1])
      .map(([c, n]) => `${c} ${us(n).toFixed(1)}`)
      .join(', ');
    console.log(`  ${r.padEnd(38)} ${us(total(m)).toFixed(1).padStart(6)}   ${parts}`);
  }
  if (values.timeline) {
    const per5 = new Map<number, number>();
    for (let t = from; t < to; t += 5) per5.set(t, 0);
    for (const s of samples) {
      const at = s.time - t0;
      if (at < from || at >= to || category(s.frames) !== values.timeline) continue;
      const bucket = from + Math.floor((at - from) / 5) * 5;
      per5.set(bucket, (per5.get(bucket) ?? 0) + 1);
    }
    console.log(`${values.timeline}: samples per 5 s of the step, all threads (${values.hz} Hz):`);
    for (const [t, n] of per5) console.log(`  ${String(t).padStart(5)} s  ${n}`);
  }
}
