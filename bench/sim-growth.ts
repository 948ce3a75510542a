/**
 * `npm run bench:sim:growth [-- --rows 2000000 --slice 250000 --no-cdc --profile-slices 1,8 --profile-dir DIR]`:
 * the simulator's CPU per change event as its tables grow, apart from Tidemark. The engine runs in this process
 * (no TDS, no other process) under bench:load's statement mix (bench/steady-workload.ts LOAD_MIX, built by
 * sim/workload's own SQL builders, as bench/sim-write-path.ts does): 20-claim INSERTs of dbo.Claims with OUTPUT
 * and their lines in one transaction (70%), re-pricings of every line of 20 claims (25%), status updates of 20
 * claims (5%); with CDC on both tables (unless `--no-cdc`), the capture job harvested after every
 * `--harvest-every` operations (10; bench:load's simulator polls once a second, ~90 operations at 5K events/s).
 *
 * Per slice of `--slice` rows added to the two source tables it prints: the engine's CPU µs per change event
 * (both tables; its statements and the harvest, not the building of the SQL texts; the process's CPU, so the
 * collector's helper threads count), the garbage collector's count and pause milliseconds (perf_hooks `gc`
 * entries, minor and major apart; pauses are wall time, long on a loaded machine), the heap used and the RSS at
 * the slice's end. To compare two simulators, run this from each checkout side by side. `--profile-slices` takes an inspector CPU profile
 * of those slices (1 = the first), written to `--profile-dir` for bench/cpu-profile-summary.ts (use
 * `--from 0 --to 1e9` there: a slice is all busy). One process, so the figure moves less than a whole-simulator
 * run on a shared machine; compare slices within one run. Figures, not assertions.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session as Inspector } from 'node:inspector/promises';
import { join } from 'node:path';
import { PerformanceObserver, constants as perfConstants } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { cdcAdmin } from '../sim/engine/cdc/index.js';
import { claimsMix, claimsTables, engineSession, runBatch, type BatchResult } from './sim-engine-session.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '2000000' },
    slice: { type: 'string', default: '250000' },
    'claims-per-statement': { type: 'string', default: '20' },
    'no-cdc': { type: 'boolean', default: false },
    'profile-slices': { type: 'string', default: '' },
    'profile-dir': { type: 'string', default: 'bench/results/sim-growth-profiles' },
    'harvest-every': { type: 'string', default: '10' },
    label: { type: 'string', default: '' },
  },
});
const ROWS = Number(values.rows);
const SLICE = Number(values.slice);
const N = Number(values['claims-per-statement']);
const CDC = !values['no-cdc'];
const HARVEST_EVERY = Number(values['harvest-every']);
const PROFILE = new Set(
  values['profile-slices']
    .split(',')
    .filter(Boolean)
    .map((x) => Number(x)),
);
const say = (line: string) => process.stdout.write(`${line}\n`);
/** This process's CPU time (all threads: the collector's helpers too), µs. */
const cpu = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

const { engine: e, session: s } = await engineSession({ sysadmin: true });
const cdc = cdcAdmin(e);
cdc.configure({ autoStart: false });

/** Runs a batch, counting the engine's CPU (the mix's SQL building is not counted). */
let engineUs = 0;
async function run(text: string): Promise<BatchResult> {
  const c0 = cpu();
  try {
    return await runBatch(s, text);
  } finally {
    engineUs += cpu() - c0;
  }
}

await claimsTables(run, { cdc: CDC });
const mix = claimsMix(run, N);
let rowsAdded = 0;
let events = 0;

/** One operation of the mix; returns the change events it made. */
async function operation(): Promise<number> {
  const op = await mix();
  rowsAdded += op.inserted;
  return op.events;
}

// The collector's work per slice, by kind.
const gc = { minorN: 0, minorMs: 0, majorN: 0, majorMs: 0, otherMs: 0 };
const obs = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const kind = (entry as { detail?: { kind?: number } }).detail?.kind;
    if (kind === perfConstants.NODE_PERFORMANCE_GC_MINOR) {
      gc.minorN++;
      gc.minorMs += entry.duration;
    } else if (kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR) {
      gc.majorN++;
      gc.majorMs += entry.duration;
    } else gc.otherMs += entry.duration;
  }
});
obs.observe({ entryTypes: ['gc'] });

const mib = (b: number) => (b / 1048576).toFixed(0);

const inspector = new Inspector();
if (PROFILE.size) {
  inspector.connect();
  await inspector.post('Profiler.enable');
  mkdirSync(values['profile-dir'], { recursive: true });
}

say(
  `sim-growth: ${ROWS} rows in slices of ${SLICE}, ${N} claims per statement, CDC ${CDC ? `on (harvest every ${HARVEST_EVERY} operations)` : 'off'}${values.label ? `, ${values.label}` : ''}`,
);
say(
  'slice | rows at end | events | CPU µs/event | ops | GC minor n/ms | GC major n/ms | GC pauses % of CPU | heap used MiB | RSS MiB',
);
interface SliceResult {
  slice: number;
  rows: number;
  events: number;
  cpuPerEventUs: number;
  ops: number;
  gcMinorN: number;
  gcMinorMs: number;
  gcMajorN: number;
  gcMajorMs: number;
  gcShare: number;
  heapUsedMiB: number;
  rssMiB: number;
}
const results: SliceResult[] = [];
let ops = 0;
for (let slice = 1; rowsAdded < ROWS; slice++) {
  const end = Math.min(ROWS, slice * SLICE);
  if (PROFILE.has(slice)) await inspector.post('Profiler.start');
  Object.assign(gc, { minorN: 0, minorMs: 0, majorN: 0, majorMs: 0, otherMs: 0 });
  const e0 = events;
  const o0 = ops;
  const c0 = engineUs;
  const all0 = cpu();
  while (rowsAdded < end) {
    events += await operation();
    ops++;
    if (CDC && ops % HARVEST_EVERY === 0) {
      const h0 = cpu();
      await cdc.runCapture('Claims');
      engineUs += cpu() - h0;
    }
  }
  // The engine's CPU: its statements and the harvest, not the building of the workload's SQL texts.
  const usedUs = engineUs - c0;
  const allUs = cpu() - all0;
  if (PROFILE.has(slice)) {
    const { profile } = await inspector.post('Profiler.stop');
    const file = join(values['profile-dir'], `slice-${slice}${CDC ? '' : '-nocdc'}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
  }
  // The observer's entries arrive asynchronously: let them land before reading the slice's figures.
  for (let k = 0; k < 3; k++) await new Promise((r) => setTimeout(r, 10));
  const mem = process.memoryUsage();
  const n = events - e0;
  const gcMs = gc.minorMs + gc.majorMs + gc.otherMs;
  const row: SliceResult = {
    slice,
    rows: rowsAdded,
    events: n,
    cpuPerEventUs: usedUs / n,
    ops: ops - o0,
    gcMinorN: gc.minorN,
    gcMinorMs: gc.minorMs,
    gcMajorN: gc.majorN,
    gcMajorMs: gc.majorMs,
    gcShare: (gcMs * 1000) / allUs,
    heapUsedMiB: mem.heapUsed / 1048576,
    rssMiB: mem.rss / 1048576,
  };
  results.push(row);
  say(
    `${slice} | ${rowsAdded} | ${n} | ${row.cpuPerEventUs.toFixed(1)} | ${row.ops} | ${gc.minorN}/${gc.minorMs.toFixed(0)} | ` +
      `${gc.majorN}/${gc.majorMs.toFixed(0)} | ${(row.gcShare * 100).toFixed(1)}% | ${mib(mem.heapUsed)} | ${mib(mem.rss)}`,
  );
}
obs.disconnect();
if (PROFILE.size) inspector.disconnect();
const first = results[0];
const last = results[results.length - 1];
if (first && last)
  say(
    `CPU per event, last slice ÷ first: ${(last.cpuPerEventUs / first.cpuPerEventUs).toFixed(2)} ` +
      `(${first.cpuPerEventUs.toFixed(1)} → ${last.cpuPerEventUs.toFixed(1)} µs)`,
  );
say(`JSON ${JSON.stringify({ cdc: CDC, harvestEvery: HARVEST_EVERY, claimsPerStatement: N, slice: SLICE, results })}`);
