/**
 * `npm run bench:load [-- --minutes 10 --rate 5000 --concurrency 8 --claims-per-statement 20 --cadence 10 --oltp-minutes 2
 *  --slice-seconds 15 --latency-backoff 5 --latency-probe SQL --throttle-rows-per-second N --oltp-caps 250,500,…
 *  --oltp-phases b,c,d,e,f --no-pin --skip-oltp
 *  --out FILE]`:
 *  sustained load and OLTP impact.
 *
 * The claims workload (sim/workload, a mix of claim inserts of 1–5 lines and line re-pricings, see
 * bench/steady-workload.ts) writes at a steady rate — `--rate` ClaimLines change events/s is the aim; what the
 * simulator actually sustained is measured and reported; `--claims-per-statement` claims per INSERT/UPDATE, as a
 * claims processor lands them in batches (sim/workload's `claimsPerStatement`; 1 = one claim per statement, the
 * shape before branch i14-sustain; the OLTP phases use the same batches) — while Tidemark syncs dbo.Claims and dbo.ClaimLines by
 * CDC at `--cadence` seconds, on Temporal, to Azurite. Both tables run with `limits.maxRowsPerSecond` lifted, so
 * the figure is the pipeline's, not the per-table cap's.
 *
 * 1. Sustained (`--minutes`): per minute, change events written vs landed (the ratio), the backlog, the table's
 *    lag, freshness p50/p95 (source commit → manifest committed, from the lake afterwards) and the worker's RSS;
 *    then how long the backlog took to drain once the workload stopped, and whether the pipeline kept up.
 * 2. OLTP impact (`--oltp-minutes` per phase, `--skip-oltp` to leave it out): the workload's own statement latency
 *    p50/p95 at 60% of the rate the simulator sustained in 1 (below saturation, so latency is not queueing behind
 *    the workload's own sessions) with Tidemark (b) extracting at full speed (woken every second, so windows run
 *    back to back, cap lifted), (c) with the worker restarted under the default per-table cap, (d) under
 *    `--throttle-rows-per-second` when given, and (e) cap lifted with `limits.latencyBackoff: --latency-backoff`
 *    (percent; the application-latency back-off, src/source/latency-monitor.ts), and (f) the same with
 *    `--latency-probe` as its probe (default: a keyed lookup on dbo.Claims, shaped like the application's
 *    statements) instead of `SELECT 1`. Each phase alternates slices of
 *    `--slice-seconds` with Tidemark paused and active (until the pause is in effect at the window boundary), paused
 *    first and last (bench/oltp-slices.ts),
 *    so the machine's drift falls on both alike: each phase's active p95 against its own paused slices, the
 *    events landed per active second (the throughput cost), and for (e) the throttle metrics of the worker.
 *    `--oltp-caps 250,500,…` adds one phase per fixed cap (the trade-off curve: p95 against read rate; at a low
 *    cap an active slice lasts until the window in flight has read its backlog), after (b); `--oltp-phases` picks which of
 *    b–f run (default all). A back-off phase's worker logs every decision at debug level: the JSON holds them
 *    (cap per decision, probe median vs baseline) and their summary by rate band.
 *
 * Pinning, for the OLTP phases (on by default where `taskset` and 2+ cores exist; `--no-pin` to leave it to the
 * OS; the sustained run is not pinned, so the simulator can use both cores and sustain more): the simulator
 * and this bench process (the workload's sessions: the "application") on core 0, the worker, Temporal and
 * Azurite on core 1. On a 2-core machine this is the only split that keeps the extraction's own CPU off the
 * database's core, as in production (the worker runs on another machine): what remains on core 0 is the
 * database serving Tidemark's queries, which is the OLTP impact the throttle can act on. The workload sessions
 * share core 0 with the simulator in every phase alike, so they shift the baseline, not the difference.
 *
 * The simulator's busy share (its CPU ÷ wall, bench/process-cpu.ts) is printed per minute of the sustained run and
 * per OLTP phase: near 1.0 (or the machine's free share) the simulator, not Tidemark, limits what was sustained.
 * The workload's sessions have their own pool with 32 KiB packets (bench/steady-workload.ts `workloadPool`: at
 * tedious's default 4 KiB, each multi-packet claim insert stalled ~40 ms on Nagle and the delayed ACK).
 *
 * Results: one JSON document (`bench/results/load-<timestamp>.json` or `--out`), and tables on stdout. Figures,
 * not assertions; the machine is shared (other processes run on both cores), so compare within one run.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { azuriteForTests, temporalForTests } from '../test/support/stack.js';
import { CLAIMS_PIPELINE_TABLES, type PipelineTable } from '../scripts/demo/harness.js';
import type { TableRef } from '../src/domain/table.js';
import { tableContext } from '../src/capture/table-context.js';
import { pauseSignal, resumeSignal, syncNowSignal } from '../src/workflows/messages.js';
import { tableSyncWorkflowId } from '../src/workflows/table-sync.js';
import {
  benchStack,
  mb,
  peakRssOf,
  rssOf,
  seconds,
  status,
  stopChild,
  terminate,
  tidemark,
  waitForSnapshot,
  type Pipeline,
} from './pipeline-stack.js';
import { LOAD_MIX, quantileMs, SteadyWorkload, warmLoadWorkload, workloadPool } from './steady-workload.js';
import { positiveNumber as num, WORKLOAD_ARG_OPTIONS, workloadArgs } from './workload-options.js';
import { BusyMeter, fmtBusy, type BusyShare } from './process-cpu.js';
import { lakeFreshnessBetween, lakeTimeline, type MinuteOfLake } from './load-timeline.js';
import { windowSteps } from './window-steps.js';
import { backoffDecisionsOf, slicedPhase, throttleMetricsOf, type SlicedPhase } from './oltp-slices.js';
import { freeLoopbackPort } from '../src/metrics/metrics-server.js';

const { values } = parseArgs({
  options: {
    ...WORKLOAD_ARG_OPTIONS,
    minutes: { type: 'string', default: '10' },
    cadence: { type: 'string', default: '10' },
    'oltp-minutes': { type: 'string', default: '2' },
    'throttle-rows-per-second': { type: 'string' },
    'slice-seconds': { type: 'string', default: '20' },
    'latency-backoff': { type: 'string', default: '5' },
    'latency-probe': { type: 'string', default: 'SELECT ClaimStatus, TotalBilled FROM dbo.Claims WHERE ClaimId = 1' },
    'oltp-caps': { type: 'string' },
    'oltp-phases': { type: 'string', default: 'b,c,d,e,f' },
    'skip-oltp': { type: 'boolean', default: false },
    'no-pin': { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});
const MINUTES = num('minutes', values.minutes);
const WORKLOAD = workloadArgs(values);
const RATE = WORKLOAD.rate;
const CONCURRENCY = WORKLOAD.concurrency;
const CADENCE_S = num('cadence', values.cadence);
const OLTP_MINUTES = num('oltp-minutes', values['oltp-minutes']);
const THROTTLE_ROWS =
  values['throttle-rows-per-second'] === undefined
    ? null
    : Math.round(num('throttle-rows-per-second', values['throttle-rows-per-second']));
const SLICE_S = num('slice-seconds', values['slice-seconds']);
const SETTLE_S = Math.min(3, SLICE_S / 4);
const BACKOFF_PERCENT = Math.round(num('latency-backoff', values['latency-backoff']));
// The trade-off curve (branch i14-backoff): one phase per fixed cap. A CDC window is not bounded in rows
// (`maxRowsPerWindow` caps identity windows only), so at a low cap an active slice lasts until the backlog written
// during the paused slice before it is read: the slices are longer than --slice-seconds, as in phase e.
const OLTP_CAPS = (values['oltp-caps'] ?? '')
  .split(',')
  .filter(Boolean)
  .map((x) => Math.round(num('oltp-caps', x)));
const OLTP_PHASES = new Set((values['oltp-phases'] ?? '').split(',').map((x) => x.trim()));
const signed = (x: number | null) => (x === null ? 'n/a' : `${x > 0 ? '+' : ''}${x}`);
if (CADENCE_S < 5) throw new Error('--cadence must be at least 5 (seconds): the config accepts no shorter cadence');
const OPS_PER_SECOND = WORKLOAD.opsPerSecond;
const LIFTED = 1_000_000;

const runId = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
const workDir = await mkdtemp(join(tmpdir(), 'tidemark-bench-load-'));
const say = (line: string) => process.stdout.write(`${line}\n`);
const stack = benchStack({ workDir, runId, prefix: 'bench-load', cadenceSeconds: CADENCE_S });

// ------------------------------------------------------------------------------------------------------------
// Pinning

const PIN = !values['no-pin'] && cpus().length >= 2 && hasTaskset();
const DB_CORE = PIN ? '0' : undefined;
const EXTRACT_CORE = PIN ? '1' : undefined;

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Every thread of process `pid` to `core` (`taskset -a -c -p`). */
function pin(pid: number, core: string): void {
  execFileSync('taskset', ['-a', '-c', '-p', core, String(pid)], { stdio: 'ignore' });
}

/** This process's descendants now (from /proc), so the Temporal and Azurite servers it started can be pinned. */
function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parent.set(Number(d), ppid);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  for (const pid of parent.keys()) {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p))
      if (p === root) {
        out.push(pid);
        break;
      }
  }
  return out;
}

// ------------------------------------------------------------------------------------------------------------
// The run

const TABLES: TableRef[] = [
  { id: 'Claims.dbo.Claims', strategy: 'cdc' },
  { id: 'Claims.dbo.ClaimLines', strategy: 'cdc' },
];
const tablesWithCap = (cap: number | null, latencyBackoffPercent?: number, probe?: string): PipelineTable[] => {
  const backoff =
    latencyBackoffPercent === undefined
      ? ''
      : probe === undefined
        ? `, latencyBackoff: ${latencyBackoffPercent}`
        : `, latencyBackoff: { maxIncreasePercent: ${latencyBackoffPercent}, probe: ${JSON.stringify(probe)} }`;
  const limits = cap === null ? {} : { limits: `{ maxRowsPerSecond: ${cap}${backoff} }` };
  return [
    { ...CLAIMS_PIPELINE_TABLES.cdc!, ...limits },
    { name: 'dbo.ClaimLines', capture: '{ strategy: cdc }', businessDateColumn: 'ServiceDate', ...limits },
  ];
};

const committed = async (p: Pipeline) => {
  const all = await Promise.all(TABLES.map((t) => status(p, t)));
  return {
    claims: all[0]!.rowsCommitted,
    claimLines: all[1]!.rowsCommitted,
    lagSeconds: Math.max(...all.map((s) => s.lagSeconds ?? 0)),
  };
};

interface LiveMinute {
  minute: number;
  workloadOpsPerSecond: number;
  claimLinesWrittenPerSecond: number;
  writtenEvents: number;
  landedEvents: number;
  landedToWritten: number | null;
  backlogEvents: number;
  lagSeconds: number;
  statementP50Ms: number | null;
  statementP95Ms: number | null;
  skippedSlots: number;
  workerRssMb: number | null;
  /** The simulator process's CPU ÷ wall over the minute (1.0 = one core). */
  simulatorBusy: number | null;
}

async function main() {
  say(`bench:load — work files and child logs in ${workDir}`);
  await Promise.all([azuriteForTests(), temporalForTests()]);
  const stackPids = descendants(process.pid);
  const sim = await stack.startSim([], undefined, CONCURRENCY + 2);
  // The workload's sessions on their own pool (32 KiB packets: see workloadPool), as an application has its own.
  const app = await workloadPool('127.0.0.1', sim.port, CONCURRENCY + 2);
  let worker: Awaited<ReturnType<typeof stack.startWorkerProcess>> | undefined;
  let p: Pipeline | undefined;
  const pipelines: Pipeline[] = [];
  try {
    const workload = await warmLoadWorkload(app, WORKLOAD.claimsPerStatement);
    p = await stack.pipeline('load', sim.port, tablesWithCap(LIFTED));
    pipelines.push(p);
    const env0 = p.env;
    worker = await stack.startWorkerProcess(p.configFile, env0, 'worker');
    await tidemark(p, ['start']);
    for (const t of TABLES) await waitForSnapshot(p, t, 10 * 60_000);
    say(
      `  initial snapshots committed; workload at ${RATE} ClaimLines events/s aim (${OPS_PER_SECOND.toFixed(0)} ops/s of ${WORKLOAD.claimsPerStatement} claims per statement, ${CONCURRENCY} sessions)`,
    );

    // ---- 1. Sustained
    const driver = new SteadyWorkload(workload, OPS_PER_SECOND, CONCURRENCY);
    const base = await committed(p);
    const t0 = Date.now();
    const simBusy = new BusyMeter(sim.child.pid);
    const simBusyAll = new BusyMeter(sim.child.pid);
    driver.start();
    const live: LiveMinute[] = [];
    let written = 0;
    let prev = base;
    const totals = { operations: 0, claimLines: 0, claims: 0, latencies: [] as number[], skipped: 0, errors: 0 };
    say(
      '  minute  ops/s  ClaimLines ev/s  written  landed  landed/written  backlog  lag s  stmt p50/p95 ms  worker RSS MiB  sim busy',
    );
    for (let m = 1; m <= MINUTES; m++) {
      await sleep(t0 + m * 60_000 - Date.now());
      const c = driver.take();
      const now = await committed(p);
      const w = c.claimLinesEvents + c.claimsEvents;
      const landed = now.claims - prev.claims + (now.claimLines - prev.claimLines);
      written += w;
      prev = now;
      totals.operations += c.operations;
      totals.claimLines += c.claimLinesEvents;
      totals.claims += c.claimsEvents;
      totals.skipped += c.skippedSlots;
      totals.errors += c.errors;
      for (const x of c.latenciesMs) totals.latencies.push(x);
      const row: LiveMinute = {
        minute: m,
        workloadOpsPerSecond: Math.round(c.operations / c.seconds),
        claimLinesWrittenPerSecond: Math.round(c.claimLinesEvents / c.seconds),
        writtenEvents: w,
        landedEvents: landed,
        landedToWritten: w ? +(landed / w).toFixed(3) : null,
        backlogEvents: written - (now.claims - base.claims + (now.claimLines - base.claimLines)),
        lagSeconds: now.lagSeconds,
        statementP50Ms: quantileMs(c.latenciesMs, 0.5),
        statementP95Ms: quantileMs(c.latenciesMs, 0.95),
        skippedSlots: c.skippedSlots,
        workerRssMb: rssOf(worker.child.pid),
        simulatorBusy: simBusy.lap().share,
      };
      live.push(row);
      say(
        `  ${String(m).padStart(6)} ${String(row.workloadOpsPerSecond).padStart(6)} ${String(row.claimLinesWrittenPerSecond).padStart(16)} ` +
          `${String(w).padStart(8)} ${String(landed).padStart(7)} ${String(row.landedToWritten).padStart(15)} ` +
          `${String(row.backlogEvents).padStart(8)} ${String(row.lagSeconds).padStart(6)} ` +
          `${`${row.statementP50Ms}/${row.statementP95Ms}`.padStart(16)} ${String(row.workerRssMb).padStart(15)} ` +
          `${String(row.simulatorBusy).padStart(9)}`,
      );
    }
    const t1 = Date.now();
    const simulatorBusy = simBusyAll.lap();
    await driver.stop();
    if (driver.firstError) say(`  workload errors: ${totals.errors} (first: ${driver.firstError})`);
    // Drain: the table keeps its cadence (never woken), so the tail is measured as a user would see it.
    const stopAt = Date.now();
    const writtenTotal =
      written +
      (() => {
        const c = driver.take();
        return c.claimLinesEvents + c.claimsEvents;
      })();
    let drained: number | null = null;
    while (Date.now() - stopAt < 10 * 60_000) {
      const now = await committed(p);
      if (now.claims - base.claims + (now.claimLines - base.claimLines) >= writtenTotal) {
        drained = Date.now() - stopAt;
        break;
      }
      await sleep(500);
    }
    say(`  workload stopped; backlog drained ${drained === null ? 'NOT within 10 min' : `in ${seconds(drained)}s`}`);

    // Idle: a minute without writes (6 cadences at 10 s) must not commit a stream of empty windows; an idle table
    // records its position only every idleCommitInterval (default 1 h).
    const windowsNow = async () =>
      (await Promise.all(TABLES.map((t) => status(p!, t)))).reduce((a, s) => a + s.windowsCommitted, 0);
    const idleBefore = await windowsNow();
    await sleep(60_000);
    const idleWindows = (await windowsNow()) - idleBefore;
    say(`  idle minute after the drain: ${idleWindows} windows committed over both tables (cadence ${CADENCE_S}s)`);

    const lakes = await Promise.all(TABLES.map(async (t) => (await tableContext(p!.deps, t)).lake));
    const timelines = await Promise.all(lakes.map((l) => lakeTimeline(l, t0, t1)));
    const lakeMinutes: (MinuteOfLake & { claimLinesP95Seconds: number | null })[] = [];
    for (let m = 0; m < MINUTES; m++) {
      const a = timelines[0]![m];
      const b = timelines[1]![m];
      lakeMinutes.push({
        minute: m + 1,
        written: (a?.written ?? 0) + (b?.written ?? 0),
        landed: (a?.landed ?? 0) + (b?.landed ?? 0),
        freshnessP50Seconds: b?.freshnessP50Seconds ?? null,
        freshnessP95Seconds: b?.freshnessP95Seconds ?? null,
        claimLinesP95Seconds: b?.freshnessP95Seconds ?? null,
      });
    }
    const freshness = Object.fromEntries(
      await Promise.all(TABLES.map(async (t, i) => [t.id, await lakeFreshnessBetween(lakes[i]!, t0, t1)] as const)),
    );
    const steps = Object.fromEntries(
      await Promise.all(TABLES.map(async (t) => [t.id, await windowSteps(p!.client, t.id)] as const)),
    );
    // Kept up: the backlog (events written, not yet landed) at every minute's end stays under what three window
    // cycles of writing produce, and does not grow (last minute ≤ twice the median minute).
    const cycleS = CADENCE_S + (steps['Claims.dbo.ClaimLines']?.steps['window (plan → watermark)']?.p50 ?? 0);
    const perSecond = writtenTotal / ((t1 - t0) / 1000);
    const bound = Math.round(3 * cycleS * perSecond);
    const backlogs = live.map((l) => l.backlogEvents);
    const medianBacklog = [...backlogs].sort((a, b) => a - b)[Math.floor(backlogs.length / 2)] ?? 0;
    const keptUp =
      backlogs.every((b) => b <= bound) && (backlogs.at(-1) ?? 0) <= Math.max(2 * medianBacklog, perSecond * cycleS);
    const sustained = {
      minutes: MINUTES,
      aimClaimLinesEventsPerSecond: RATE,
      sustained: {
        operationsPerSecond: Math.round(totals.operations / ((t1 - t0) / 1000)),
        claimLinesEventsPerSecond: Math.round(totals.claimLines / ((t1 - t0) / 1000)),
        claimsEventsPerSecond: Math.round(totals.claims / ((t1 - t0) / 1000)),
        skippedSlots: totals.skipped,
        errors: totals.errors,
        statementP50Ms: quantileMs(totals.latencies, 0.5),
        statementP95Ms: quantileMs(totals.latencies, 0.95),
        simulatorBusy,
      },
      writtenEvents: writtenTotal,
      drainSeconds: drained === null ? null : seconds(drained),
      idleMinuteWindowsCommitted: idleWindows,
      keptUp,
      keptUpRule: `backlog at every minute's end ≤ ${bound} events (3 window cycles of ${cycleS.toFixed(1)} s at ${Math.round(perSecond)} events/s) and not growing`,
      live,
      lake: lakeMinutes,
      freshness,
      windowSteps: steps,
      workerPeakRssMb: peakRssOf(worker.child.pid),
    };
    say('  from the lake (ClaimLines freshness; written/landed both tables):');
    say('  minute  written  landed  landed/written  ClaimLines freshness p50 / p95 s');
    for (const l of lakeMinutes)
      say(
        `  ${String(l.minute).padStart(6)} ${String(l.written).padStart(8)} ${String(l.landed).padStart(7)} ` +
          `${String(l.written ? +(l.landed / l.written).toFixed(3) : null).padStart(15)}   ${l.freshnessP50Seconds} / ${l.freshnessP95Seconds}`,
      );

    // ---- 2. OLTP impact
    let oltp: Record<string, unknown> | null = null;
    if (!values['skip-oltp']) {
      const phaseMs = OLTP_MINUTES * 60_000;
      const handles = TABLES.map((t) => p!.client.workflow.getHandle(tableSyncWorkflowId(t.id)));
      // Below saturation: at the rate the simulator just sustained, statement latency would be mostly queueing
      // behind the workload's own sessions, and Tidemark's share would show as lost throughput, not latency.
      const oltpOps = Math.max(1, Math.round(0.6 * sustained.sustained.operationsPerSecond));
      let metricsPort: number | undefined;
      let workerLog: string | undefined;
      const restartWorker = async (name: string, tables: PipelineTable[], withMetrics = false) => {
        await stopChild(worker!.child);
        const q = await stack.pipeline('load', sim.port, tables);
        pipelines.push(q);
        metricsPort = withMetrics ? await freeLoopbackPort() : undefined;
        // The first config's secrets (the PHI hash key above all) stay: a new key would change the hashes.
        // A back-off's worker logs each decision at debug level (read back below: cap per decision, probe vs baseline).
        worker = await stack.startWorkerProcess(
          q.configFile,
          withMetrics ? { ...env0, TIDEMARK_LOG_LEVEL: 'debug' } : env0,
          `worker-${name}`,
          EXTRACT_CORE,
          metricsPort === undefined ? [] : ['--metrics-port', String(metricsPort)],
        );
        workerLog = worker.logFile;
      };
      // Pinned for these phases only (the sustained run leaves the two cores to the OS, which lets the simulator
      // sustain more): the running processes are moved, restarted workers start pinned.
      if (PIN) {
        for (const pid of stackPids) pin(pid, EXTRACT_CORE!);
        if (worker.child.pid) pin(worker.child.pid, EXTRACT_CORE!);
        if (sim.child.pid) pin(sim.child.pid, DB_CORE!);
        pin(process.pid, DB_CORE!);
        say('  pinned: simulator + workload sessions (this process) → core 0; worker, Temporal, Azurite → core 1');
      } else say('  not pinned (--no-pin, or no taskset / fewer than 2 cores)');
      say(
        `  OLTP impact: ${OLTP_MINUTES} min per phase at ${oltpOps} ops/s (60% of what the simulator sustained), ` +
          `in slices of ${SLICE_S} s alternating Tidemark paused / active (the first ${SETTLE_S} s of each not counted)`,
      );
      const phases: Record<
        string,
        SlicedPhase & { simulatorBusy: BusyShare; backoffDecisions?: ReturnType<typeof backoffDecisionsOf> }
      > = {};
      const phase = async (key: string, label: string, sampleMetrics = false) => {
        const busy = new BusyMeter(sim.child.pid);
        const f = await slicedPhase({
          workload,
          opsPerSecond: oltpOps,
          concurrency: CONCURRENCY,
          phaseMs,
          sliceMs: SLICE_S * 1000,
          settleMs: SETTLE_S * 1000,
          committed: async () => {
            const c = await committed(p!);
            return c.claims + c.claimLines;
          },
          pause: async () => {
            for (const h of handles) await h.signal(pauseSignal, { reason: 'bench: OLTP paused slice' });
            const deadline = Date.now() + 180_000;
            while (
              Date.now() < deadline &&
              !(await Promise.all(TABLES.map((t) => status(p!, t)))).every((x) => x.paused)
            )
              await sleep(250);
          },
          resume: async () => {
            for (const h of handles) await h.signal(resumeSignal);
          },
          wake: async () => {
            for (const h of handles) await h.signal(syncNowSignal).catch(() => undefined);
          },
          ...(sampleMetrics && metricsPort !== undefined ? { metrics: throttleMetricsOf(metricsPort) } : {}),
        });
        const simulatorBusy = busy.lap();
        const decisions = sampleMetrics && workerLog ? backoffDecisionsOf(readFileSync(workerLog, 'utf8')) : undefined;
        phases[key] = { ...f, simulatorBusy, ...(decisions ? { backoffDecisions: decisions } : {}) };
        say(
          `  ${label.padEnd(46)} p95 paused ${f.pausedP95Ms} ms / active ${f.activeP95Ms} ms (${signed(f.activeVsPausedP95Percent)}%; ` +
            `median of per-slice ${signed(f.medianSliceVsAroundPercent)}%), p50 ${f.pausedP50Ms}/${f.activeP50Ms} ms; ` +
            `landed ${f.landedPerActiveSecond} events per active s${f.throttle ? `; back-off cap ${f.throttle.capsRowsPerSecond.join(' → ')} rows/s, ${f.throttle.backoffs} back-offs` : ''}; simulator ${fmtBusy(simulatorBusy)}`,
        );
        say(
          `    paused-slice p95s: ${f.slices
            .filter((x) => x.kind === 'paused')
            .map((x) => x.statementP95Ms)
            .join(', ')} ms`,
        );
        if (decisions) {
          for (const b of decisions.bands)
            say(
              `    back-off decisions at ${b.rowsPerSecondFrom}–${b.rowsPerSecondTo} rows/s: ${b.decisions}, over the limit ${b.overLimit}, ` +
                `far below the baseline ${b.farBelow}; median probe vs baseline ${signed(b.medianIncreasePercent)}%`,
            );
          // The cap's path: every change, with the probe median ÷ baseline that made it, and ⇑N where a fresh
          // baseline undid the back-offs a stall of the source caused (the cap moved between two decisions).
          const path: string[] = [];
          let prev: (typeof decisions.decisions)[number] | undefined;
          for (const d of decisions.decisions) {
            if (prev && d.fromRowsPerSecond !== prev.toRowsPerSecond) path.push(`⇑${d.fromRowsPerSecond}`);
            if (d.toRowsPerSecond !== d.fromRowsPerSecond)
              path.push(
                `${d.toRowsPerSecond}${d.decision === 'backoff' ? '↓' : '↑'}(${signed(+((d.medianMs / d.baselineMs - 1) * 100).toFixed(0))}%)`,
              );
            prev = d;
          }
          if (path.length > 0)
            say(
              `    back-off cap path (${path.length} changes in ${decisions.decisions.length} decisions): ` +
                (path.length <= 40 ? path.join(' ') : `${path.slice(0, 20).join(' ')} … ${path.slice(-20).join(' ')}`),
            );
        }
      };
      const want = (x: string) => OLTP_PHASES.has(x);
      let restarted = false;
      if (want('b')) await phase('fullSpeed', 'b. extracting at full speed, cap lifted');
      for (const cap of OLTP_CAPS) {
        await restartWorker(`fixed-${cap}`, tablesWithCap(cap));
        restarted = true;
        await phase(`cap${cap}`, `cap ${cap.toLocaleString('en')} rows/s per table`);
      }
      if (want('c') || !restarted) {
        await restartWorker('cap-default', tablesWithCap(null));
        if (want('c')) await phase('defaultCap', 'c. default cap (5,000 rows/s per table)');
      }
      if (THROTTLE_ROWS !== null && want('d')) {
        await restartWorker(`cap-${THROTTLE_ROWS}`, tablesWithCap(THROTTLE_ROWS));
        await phase('cap', `d. cap ${THROTTLE_ROWS.toLocaleString('en')} rows/s per table`);
      }
      if (want('e')) {
        await restartWorker(`backoff-${BACKOFF_PERCENT}`, tablesWithCap(LIFTED, BACKOFF_PERCENT), true);
        await phase('latencyBackoff', `e. latency back-off +${BACKOFF_PERCENT}%, cap lifted`, true);
      }
      // The same back-off with a probe shaped like the application's statements (a keyed lookup on Claims)
      // instead of `SELECT 1`, which the simulator answers without touching a table.
      if (want('f')) {
        await restartWorker(
          `backoff-${BACKOFF_PERCENT}-lookup`,
          tablesWithCap(LIFTED, BACKOFF_PERCENT, values['latency-probe']),
          true,
        );
        await phase('latencyBackoffLookupProbe', `f. latency back-off +${BACKOFF_PERCENT}%, keyed-lookup probe`, true);
      }
      oltp = {
        minutesPerPhase: OLTP_MINUTES,
        sliceSeconds: SLICE_S,
        settleSeconds: SETTLE_S,
        operationsPerSecond: oltpOps,
        pinned: PIN ? { simulatorAndWorkload: DB_CORE, workerTemporalAzurite: EXTRACT_CORE } : null,
        ...(THROTTLE_ROWS !== null ? { capRowsPerSecond: THROTTLE_ROWS } : {}),
        ...(OLTP_CAPS.length ? { fixedCapsRowsPerSecond: OLTP_CAPS } : {}),
        phasesRun: [...OLTP_PHASES],
        latencyBackoffPercent: BACKOFF_PERCENT,
        latencyProbeOfPhaseF: values['latency-probe'],
        phases,
      };
    }

    await terminate(p, TABLES);
    const result = {
      benchmark: 'load',
      at: new Date().toISOString(),
      machine: { cpus: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
      cadenceSeconds: CADENCE_S,
      concurrency: CONCURRENCY,
      claimsPerStatement: WORKLOAD.claimsPerStatement,
      mix: LOAD_MIX,
      sustained,
      oltpImpact: oltp,
      simulatorPeakRssMb: peakRssOf(sim.child.pid),
      benchProcessPeakRssMb: mb(process.resourceUsage().maxRSS),
    };
    const out = values.out ?? join('bench', 'results', `load-${runId}.json`);
    await mkdir(dirname(out), { recursive: true });
    const { format } = await import('prettier');
    await writeFile(out, await format(JSON.stringify(result, null, 2), { parser: 'json' }));
    say('');
    say(
      `bench:load: sustained ${sustained.sustained.claimLinesEventsPerSecond} ClaimLines events/s (aim ${RATE}, ${WORKLOAD.claimsPerStatement} claims per statement) + ` +
        `${sustained.sustained.claimsEventsPerSecond} Claims events/s for ${MINUTES} min (simulator ${fmtBusy(simulatorBusy)}); kept up: ${keptUp ? 'yes' : 'NO'} ` +
        `(${sustained.keptUpRule}); drained in ${sustained.drainSeconds ?? 'n/a'} s`,
    );
    for (const [id, f] of Object.entries(freshness))
      say(`  freshness ${id}: p50 ${f.p50Seconds}s, p95 ${f.p95Seconds}s over ${f.events} events`);
    say(`  worker peak RSS ${sustained.workerPeakRssMb} MiB; results: ${out}`);
  } finally {
    if (worker) await stopChild(worker.child);
    for (const q of pipelines) await q.close().catch(() => undefined);
    await app.close().catch(() => undefined);
    await sim.admin.close().catch(() => undefined);
    await stopChild(sim.child);
  }
}

await main();
process.exit(0);
