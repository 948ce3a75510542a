/**
 * `npm run bench:e2e [-- --rows 500000 --burst 50000 --minutes 5 --rate 20 --cadence 60 --out FILE --cpu-prof DIR
 * --max-rows-per-second N --burst-poll-ms 1000 --warm-burst 20000]`: the whole
 * pipeline end to end — SQL Server simulator → Tidemark worker on a Temporal dev server → Azurite — with the
 * raw driver read of the same rows measured in the same run as the baseline.
 *
 * Part A, throughput (simulator seeded with `--rows` rows of dbo.ClaimLines, 25 columns, CDC on):
 *   - raw: `SELECT *` streamed by mssql (arrayRowMode, no decoding) — the driver's ceiling on this machine; read
 *     before and after the load, the faster read counts (a neighbour slowing the baseline would flatter ratios);
 *   - initial load: `tidemark start` → snapshot job workflow → Parquet in Azurite, manifests committed; rows/s
 *     from `start` to the job done, and the job workflow's own start → close, each as a ratio to raw;
 *   - incremental: one transaction updating `--burst` rows; time from its commit until a window holding all of
 *     them is committed (the table is woken at once, so this is the pipeline's latency, not the cadence), with
 *     the time until the capture job had them in the change table (the source's share), and the raw read of
 *     the same changes from the CDC function as the incremental path's own baseline; the window path (from the
 *     changes in the change table, when the table is woken, to the manifest committed) is printed apart, with
 *     its CPU per change per process (`burstWindow`) and the table-sync workflow's history events in it. The
 *     commit time is the commitManifest activity's completion in the history; the bench polls the table's status
 *     every `--burst-poll-ms` (default 1000: each poll is a Temporal query the worker answers, which at the
 *     100 ms used before cost Temporal and the worker CPU inside the measured path). A first burst of
 *     `--warm-burst` updates (0: none) lands before it and is reported apart (`incremental.warmUp`): the worker's
 *     first change window compiles the CDC read's code as it runs, as a production worker does once per process;
 *     the raw CDC read reads the measured burst's changes only;
 *   - verify: the lake's latest state against the source (`--skip-verify` to leave it out).
 * Part B, freshness (a second simulator running the claims workload at `--rate` operations/s for `--minutes`,
 *   dbo.Claims and dbo.ClaimLines synced by CDC at `--cadence` seconds; the table is never woken): per change
 *   event, manifest committed − source commit time (`_commit_ts`, from CDC's lsn_time mapping), p50/p95.
 * Part A's table keeps the config's default `limits.maxRowsPerSecond` (5,000 rows/s per table, which caps a
 *   change window's read: a 50K-change burst takes ≥ 10 s by design) unless `--max-rows-per-second` sets it, to
 *   measure the window path rather than the throttle.
 * Codec overhead (`--codec both`): part A runs twice in the same run, without and then with Temporal payload
 *   encryption (`temporal.payloadKeys`), each against its own raw read; the result compares them as ratios
 *   (encrypted ÷ plain), both directly and normalised by each pass's raw read (`--codec on` runs only encrypted).
 * Observability overhead (`--observability both`): part A runs twice in the same run, without and then with metrics
 *   and receipts — the worker serving `--metrics-port` (its status refresher polling every 15 s) and the table's
 *   `quality` set to control totals over billed_amount and paid_amount with the source check on every window
 *   (`sourceCheckEvery: 1`, the most expensive setting) — each against its own raw read; the result compares them
 *   as ratios (observed ÷ plain), directly and normalised by each pass's raw read (`--observability on` runs only
 *   the observed pass). The per-window receipt checks that need no configuration run in both.
 * Peak RSS: each worker is its own process (VmHWM from /proc), so the figure is the worker's alone; the bench
 *   process (Temporal client, verification in DuckDB) and the simulators are reported apart. Part A also samples
 *   the worker's VmRSS every second through the initial load and prints its median and 90th percentile with the
 *   peak (bench/rss-sampler.ts).
 * Memory runs (`--skip-raw`): part A reads no raw baseline of the table (at 5M rows two raw reads take ~10
 *   minutes), so it prints no load ratio — it says so; the burst's raw CDC read stays (it is small).
 * Simulator busy share: each step of part A (raw reads, initial load, burst, raw CDC read) and part B's workload
 *   prints the simulator process's CPU time ÷ wall time (bench/process-cpu.ts; `simulatorBusy` in the JSON): near
 *   1.0, or the machine's free share, the simulator limits that step.
 *
 * Results: one JSON document (`bench/results/e2e-<timestamp>.json` or `--out`), and a table on stdout.
 * Figures, not assertions; the machine is shared, so compare ratios measured in one run.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { rawStream } from './raw-stream.js';
import { formatTimeline, windowSteps, windowTimeline, type StepSummary } from './window-steps.js';
import { fmtLoadTimeline, loadTimeline } from './load-steps.js';
import {
  benchStack,
  fmtVerify,
  mb,
  peakRssOf,
  seconds,
  status,
  stopChild,
  terminate,
  tidemark,
  waitForSnapshot,
  type Pipeline,
} from './pipeline-stack.js';
import { ClaimsWorkload } from '../sim/workload/index.js';
import { azuriteForTests, temporalForTests } from '../test/support/stack.js';
import { CLAIMS_PIPELINE_TABLES } from '../scripts/demo/harness.js';
import { lakeFreshness, type Freshness } from '../scripts/demo/freshness.js';
import type { TableRef } from '../src/domain/table.js';
import { tableContext } from '../src/capture/table-context.js';
import { verifyTable, type VerifyTableOutput } from '../src/verify/verify-table.js';
import { syncNowSignal } from '../src/workflows/messages.js';
import { tableSyncWorkflowId } from '../src/workflows/table-sync.js';
import { BusyMeter, CpuBudget, benchProcesses, fmtBusy, type BusyShare, type CpuShare } from './process-cpu.js';
import { sampleRss, type RssOverStep } from './rss-sampler.js';
import { Session } from 'node:inspector/promises';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '500000' },
    burst: { type: 'string', default: '50000' },
    minutes: { type: 'string', default: '5' },
    rate: { type: 'string', default: '20' },
    cadence: { type: 'string', default: '60' },
    out: { type: 'string' },
    'skip-verify': { type: 'boolean', default: false },
    'skip-throughput': { type: 'boolean', default: false },
    'skip-freshness': { type: 'boolean', default: false },
    'skip-raw': { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
    'max-rows-per-second': { type: 'string' },
    'burst-poll-ms': { type: 'string', default: '1000' },
    'warm-burst': { type: 'string', default: '20000' },
    codec: { type: 'string', default: 'off' },
    observability: { type: 'string', default: 'off' },
  },
});
const CODEC = values.codec;
if (CODEC !== 'off' && CODEC !== 'on' && CODEC !== 'both') throw new Error('--codec must be off, on or both');
const OBSERVABILITY = values.observability;
if (OBSERVABILITY !== 'off' && OBSERVABILITY !== 'on' && OBSERVABILITY !== 'both')
  throw new Error('--observability must be off, on or both');
const ROWS = Number(values.rows);
const BURST = Number(values.burst);
const MINUTES = Number(values.minutes);
const RATE = Number(values.rate);
const CADENCE_S = Number(values.cadence);
const SKIP_RAW = values['skip-raw'];
const BURST_POLL_MS = Number(values['burst-poll-ms']);
const WARM_BURST = Number(values['warm-burst']);
if (!Number.isInteger(WARM_BURST) || WARM_BURST < 0) throw new Error('--warm-burst must be a whole number (0: none)');
if (!Number.isFinite(BURST_POLL_MS) || BURST_POLL_MS < 10) throw new Error('--burst-poll-ms must be at least 10');
for (const [name, v] of Object.entries({ rows: ROWS, burst: BURST, minutes: MINUTES, rate: RATE, cadence: CADENCE_S }))
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number (got ${String(v)})`);
if (CADENCE_S < 5) throw new Error('--cadence must be at least 5 (seconds): the config accepts no shorter cadence');

const runId = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
const workDir = await mkdtemp(join(tmpdir(), 'tidemark-bench-e2e-'));
const say = (line: string) => process.stdout.write(`${line}\n`);
const fmtRss = (r: RssOverStep) =>
  `peak (VmHWM) ${r.peakMb ?? 'n/a'} MiB, median ${r.medianMb ?? 'n/a'}, p90 ${r.p90Mb ?? 'n/a'}, ` +
  `highest sample ${r.maxSampleMb ?? 'n/a'} (${r.samples} samples, every ${r.everyMs / 1000} s)`;
const rate = (rows: number, ms: number) => (ms > 0 ? Math.round((rows * 1000) / ms) : null);
const { startSim, startWorkerProcess, pipeline } = benchStack({
  workDir,
  runId,
  prefix: 'bench-e2e',
  cadenceSeconds: CADENCE_S,
  cpuProfDir: values['cpu-prof'],
});

/**
 * With `--cpu-prof DIR`, `fn` (a raw read in this process) runs under the inspector's CPU profiler and its profile
 * is written to DIR/<name>.cpuprofile: the raw read's own main-thread profile beside the worker's.
 */
async function profiled<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const dir = values['cpu-prof'];
  if (!dir) return fn();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  try {
    return await fn();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, `${name}.cpuprofile`), JSON.stringify(profile));
  }
}

/**
 * The table-sync workflow's history events after event `afterEventId`, counted by type (activities by name),
 * and when the last commitManifest of them completed (epoch ms; null: none).
 */
async function historySince(
  handle: ReturnType<Client['workflow']['getHandle']>,
  afterEventId: number,
): Promise<{ kinds: Record<string, number>; lastCommitAt: number | null }> {
  const { events } = JSON.parse(historyToJSON(await handle.fetchHistory())) as {
    events: {
      eventId: string;
      eventTime: string;
      eventType: string;
      activityTaskScheduledEventAttributes?: { activityType?: { name?: string } };
      activityTaskCompletedEventAttributes?: { scheduledEventId?: string };
    }[];
  };
  const names = new Map<string, string>();
  const kinds: Record<string, number> = {};
  let lastCommitAt: number | null = null;
  for (const e of events) {
    const activity = e.activityTaskScheduledEventAttributes?.activityType?.name;
    if (activity) names.set(e.eventId, activity);
    if (Number(e.eventId) <= afterEventId) continue;
    const kind = e.eventType.replace('EVENT_TYPE_', '') + (activity ? `(${activity})` : '');
    kinds[kind] = (kinds[kind] ?? 0) + 1;
    const done = e.activityTaskCompletedEventAttributes?.scheduledEventId;
    if (done && names.get(done) === 'commitManifest') lastCommitAt = Date.parse(e.eventTime);
  }
  return { kinds, lastCommitAt };
}

/** Thread names of the CPU table's by-thread line, as printed. */
const THREAD_LABELS: Record<string, string> = { 'tm-parquet': 'tm-parquet (Parquet writers)' };

/** Part A's CPU per row: one line per process, one column per step (µs of CPU per row read or landed). */
function cpuTable(steps: Record<string, { rows: number; wallSeconds: number; processes: Record<string, CpuShare> }>) {
  const names = Object.keys(steps);
  const procs = [...new Set(names.flatMap((n) => Object.keys(steps[n]!.processes)))];
  const cell = (x: string) => x.padStart(16);
  const lines = ['  CPU per row, µs (CPU seconds of each process over the step ÷ its rows; main thread in brackets):'];
  lines.push(`  ${'process'.padEnd(16)}${names.map((n) => cell(n)).join('')}`);
  const totals = names.map(() => 0);
  for (const proc of procs) {
    const cells = names.map((n, i) => {
      const s = steps[n]!.processes[proc];
      if (!s || s.microsPerRow === null) return cell('—');
      totals[i]! += s.microsPerRow;
      const main =
        s.mainThreadCpuSeconds === null || steps[n]!.rows === 0
          ? ''
          : ` [${((s.mainThreadCpuSeconds * 1e6) / steps[n]!.rows).toFixed(1)}]`;
      return cell(`${s.microsPerRow.toFixed(1)}${main}`);
    });
    lines.push(`  ${proc.padEnd(16)}${cells.join('')}`);
  }
  for (const proc of ['worker', 'simulator']) {
    const byThread = names
      .map((n) => {
        const t = steps[n]!.processes[proc]?.threadsMicrosPerRow ?? {};
        const top = Object.entries(t)
          .sort((a, b) => b[1] - a[1])
          .map(([k, v]) => `${THREAD_LABELS[k] ?? k} ${v}`)
          .join(', ');
        return top ? `${n}: ${top}` : '';
      })
      .filter(Boolean);
    if (byThread.length) lines.push(`  ${proc} by thread, µs per row — ${byThread.join(' | ')}`);
  }
  lines.push(
    '  (threads by their /proc name: main; tm-parquet = the Parquet writer threads, which name themselves; on Node 24 ' +
      "V8Worker = V8's GC and compiler helpers, libuv-worker = libuv's pool, WorkerThread = the SDK's; node = every " +
      "thread left unnamed — on Node 20 all of those, and DuckDB's own threads)",
  );
  lines.push(`  ${'all'.padEnd(16)}${totals.map((t) => cell(t.toFixed(1))).join('')}`);
  lines.push(
    `  ${'wall, µs'.padEnd(16)}${names.map((n) => cell(((steps[n]!.wallSeconds * 1e6) / Math.max(1, steps[n]!.rows)).toFixed(1))).join('')}`,
  );
  return lines.join('\n');
}

async function throughput(encrypted = false, observed = false) {
  say(
    `A. throughput${encrypted ? ' (Temporal payloads encrypted)' : ''}${observed ? ' (metrics + receipts)' : ''} — seeding the simulator with ${ROWS.toLocaleString('en')} claim lines …`,
  );
  const sim = await startSim(['--seed', '42', '--rows', String(ROWS)]);
  // The simulator's busy share (its CPU ÷ wall) per step, so a step the simulator limits says so (issue 14).
  const simBusy = new BusyMeter(sim.child.pid);
  const simulatorBusy: Record<string, BusyShare> = {};
  const busyStep = (name: string) => fmtBusy((simulatorBusy[name] = simBusy.lap()));
  const table: TableRef = { id: 'Claims.dbo.ClaimLines', strategy: 'cdc' };
  let worker: Awaited<ReturnType<typeof startWorkerProcess>> | undefined;
  let p: Pipeline | undefined;
  try {
    await sim.admin.request().batch(`ALTER DATABASE Claims SET ALLOW_SNAPSHOT_ISOLATION ON;
      EXEC sys.sp_cdc_enable_db;
      EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'ClaimLines', @role_name = NULL;`);
    await rawStream(sim.admin, `SELECT TOP 20000 * FROM dbo.ClaimLines`); // warm-up (JIT, connection)
    // The baseline is read twice, before and after the load, and the faster read counts: the machine is shared,
    // and a baseline slowed by a neighbour would flatter the pipeline's ratio.
    const rawRuns: { rows: number; ms: number }[] = [];
    // CPU seconds of every process of the run per step (bench/process-cpu.ts): the budget per row that explains
    // the load's ratio to the raw read, where a wall-time profile on a shared machine cannot.
    const cpuSteps: Record<string, { rows: number; wallSeconds: number; processes: Record<string, CpuShare> }> = {};
    const budget = () => new CpuBudget(benchProcesses({ simulator: sim.child.pid, worker: worker?.child.pid }));
    const rawRead = async () => {
      if (SKIP_RAW) return;
      simBusy.lap();
      const cpu = budget();
      const t0 = performance.now();
      const rows = await profiled(`raw-read-${rawRuns.length + 1}`, () =>
        rawStream(sim.admin, 'SELECT * FROM dbo.ClaimLines'),
      );
      rawRuns.push({ rows, ms: performance.now() - t0 });
      cpuSteps[`rawRead${rawRuns.length}`] = { rows, ...cpu.stop(rows) };
      say(
        `  raw mssql stream: ${rows} rows in ${seconds(performance.now() - t0)}s; simulator ${busyStep(`rawRead${rawRuns.length}`)}`,
      );
    };
    if (SKIP_RAW) say('  raw mssql stream: skipped (--skip-raw, a memory run): no load ratio in this run');
    await rawRead();

    const cap = values['max-rows-per-second'];
    const name = `${encrypted ? 'a-enc' : 'a'}${observed ? '-obs' : ''}`;
    p = await pipeline(
      name,
      sim.port,
      [
        {
          name: 'dbo.ClaimLines',
          capture: '{ strategy: cdc }',
          ...(cap ? { limits: `{ maxRowsPerSecond: ${cap} }` } : {}),
          ...(observed ? { quality: '{ controlTotals: [billed_amount, paid_amount], sourceCheckEvery: 1 }' } : {}),
        },
      ],
      encrypted,
    );
    const metricsArgs = observed ? ['--metrics-port', '0'] : [];
    worker = await startWorkerProcess(p.configFile, p.env, `worker-${name}`, undefined, metricsArgs);
    const started = Date.now();
    simBusy.lap();
    const loadCpu = budget();
    const rssSampler = sampleRss(worker.child.pid);
    await tidemark(p, ['start']);
    const cliDone = Date.now();
    const snap = await waitForSnapshot(p, table, 60 * 60_000);
    const loadMs = Date.now() - started;
    const seen = started + loadMs;
    const workerRssDuringLoad = rssSampler.stop();
    cpuSteps.initialLoad = { rows: snap.rows, ...loadCpu.stop(snap.rows) };
    const jobMs = snap.jobClosed - snap.jobStarted;
    say(
      `  initial load: ${snap.rows} rows in ${seconds(loadMs)}s (job workflow ${seconds(jobMs)}s); simulator ${busyStep('initialLoad')}`,
    );
    say(`  worker RSS during the load: ${fmtRss(workerRssDuringLoad)}`);
    // Where the load's wall time went, step by step (bench/load-steps.ts): the histories and runChunk's own report.
    const timeline = await loadTimeline(p.client, table.id, snap.workflowId, { t0: started, cliDone, seen }).catch(
      (err: unknown) => (say(`  load timeline: not available (${String(err)})`), null),
    );
    if (timeline) say(fmtLoadTimeline(timeline));
    await rawRead();
    const rawBest = rawRuns.length ? rawRuns.reduce((a, b) => (b.ms < a.ms ? b : a)) : { rows: 0, ms: 0 }; // --skip-raw: no baseline, no ratio
    const rawRows = rawBest.rows;
    const rawMs = rawBest.ms;

    // One transaction of `n` updates, landed: done when the table committed that many more rows. Returns the
    // commit → lake time, the capture's share, the window path (the rest) with its history and timeline.
    const syncTable = p.client.workflow.getHandle(tableSyncWorkflowId(table.id));
    // The updates' new-value rows the capture job has put in the change table so far.
    const updatesInChangeTable = async () =>
      Number(
        (
          await sim.admin
            .request()
            .query<{ n: number }>('SELECT COUNT(*) AS n FROM cdc.dbo_ClaimLines_CT WHERE __$operation = 4')
        ).recordset[0]?.n ?? 0,
      );
    const landBurst = async (n: number, step: 'burst' | 'warmUp') => {
      // Let the table settle into its cadence wait, so the burst does not overlap the steps before it.
      await sleep(5000);
      const before = (await status(p!, table)).rowsCommitted;
      // The change rows already in the change table (the warm-up's): counted before the update, which the capture
      // job may harvest before the first poll.
      const changedBefore = await updatesInChangeTable();
      const t = performance.now();
      simBusy.lap();
      const burstCpu = budget();
      const note = step === 'burst' ? 'repriced in bench' : 'warm-up in bench';
      await sim.admin.request().batch(`UPDATE TOP (${n}) dbo.ClaimLines SET notes = N'${note}'`);
      const committedAt = performance.now();
      const committedAtClock = Date.now();
      busyStep(`${step}Update`);
      // How long the capture job takes to put the burst in the change table: the source's share of the latency.
      // From then on is the window path (issue 14's "minus the capture job's own share"): its CPU per change is a
      // step of its own (`burstWindow`), and the table is woken at that moment, so the path does not include
      // waiting for the next periodic wake. (A capture scan commits a transaction's change rows at once, so a plan
      // before it sees none of the burst.)
      let captureMs: number | null = null;
      let windowCpu: CpuBudget | undefined;
      let historyAtCapture: number | undefined;
      let woke = 0; // when the bench last woke the table (performance.now())
      const capture = (async () => {
        while (performance.now() - committedAt < 20 * 60_000) {
          if ((await updatesInChangeTable()) - changedBefore >= n) {
            captureMs = performance.now() - committedAt;
            windowCpu = budget();
            historyAtCapture = (await syncTable.describe()).historyLength;
            await syncTable.signal(syncNowSignal);
            woke = performance.now();
            return captureMs;
          }
          await sleep(250);
        }
        return null;
      })().catch(() => null);
      const burstDeadline = Date.now() + 20 * 60_000;
      let after = before;
      while (after - before < n) {
        if (Date.now() > burstDeadline) throw new Error(`burst: ${after - before} of ${n} rows after 20 minutes`);
        // Woken at once when the capture is done (above), then every 10 s as a safety net: each wake is a signal and
        // a workflow task of the table inside the measured window path. Not while the capture job harvests the
        // burst: a plan woken then starts during the harvest and, with a wake every 2 s, ended 1.1–1.2 s after it in
        // three runs of four while the simulator idled (its queries slowed by the harvest, then — likely — the
        // throttle's latency guard pausing the next as long, up to 2 s): the capture's share, which the window path
        // leaves out. Every 2 s only if the capture has not been seen after a minute (its count query failing, say).
        const sinceCommit = performance.now() - committedAt;
        if (
          captureMs === null
            ? sinceCommit > 60_000 && performance.now() - woke > 2000
            : performance.now() - woke > 10_000
        ) {
          await syncTable.signal(syncNowSignal);
          woke = performance.now();
        }
        // Each status query is a round trip through Temporal to the worker's workflow: at 10 a second (before
        // `--burst-poll-ms`) they cost Temporal and the worker CPU the window path then competed with. The commit
        // time itself comes from the history below, so a slower poll does not blur it.
        await sleep(BURST_POLL_MS);
        after = (await status(p!, table)).rowsCommitted;
      }
      const polledBurstMs = performance.now() - committedAt;
      const updateMs = committedAt - t;
      const cpu = burstCpu.stop(n);
      await capture;
      const window = windowCpu?.stop(n);
      // What the window cost Temporal: the table-sync workflow's history events from the capture to the commit
      // (the window's activities, workflow tasks, the bench's wake signals; queries leave no event).
      const historyEvents =
        historyAtCapture === undefined ? null : (await syncTable.describe()).historyLength - historyAtCapture;
      const history = await historySince(syncTable, historyAtCapture ?? 0);
      // Source commit → manifest committed: the last commitManifest's completion in the history (same clock).
      const burstMs = history.lastCommitAt === null ? polledBurstMs : history.lastCommitAt - committedAtClock;
      const windowPathMs = captureMs === null ? null : burstMs - captureMs;
      // The window's timeline from the bench's wake (the first event after the capture) to the commit.
      const timeline =
        historyAtCapture === undefined ? null : await windowTimeline(p!.client, table.id, historyAtCapture);
      return {
        updateMs,
        burstMs,
        captureMs,
        windowPathMs,
        historyEvents,
        historyKinds: history.kinds,
        timeline,
        cpu,
        window,
      };
    };

    // The warm-up burst: the worker's first change window after the load runs code the load did not (the CDC
    // read, its row shape through the decoders), compiled while it runs — ~4 µs more per change on the main
    // thread and twice the compiler threads' CPU, once per worker process (bench:e2e, 2026-12-07). A worker in
    // production runs a window every cadence, so the measured burst is the second window; the first is reported
    // apart. The raw baseline is warmed the same way (its warm-up read above).
    let warmUp: Awaited<ReturnType<typeof landBurst>> | undefined;
    if (WARM_BURST > 0) {
      warmUp = await landBurst(WARM_BURST, 'warmUp');
      if (warmUp.window) cpuSteps.warmUpWindow = { rows: WARM_BURST, ...warmUp.window };
      say(
        `  warm-up burst (the worker's first change window): ${WARM_BURST} updates, window path ` +
          `${warmUp.windowPathMs === null ? 'n/a' : `${seconds(warmUp.windowPathMs)}s`}`,
      );
      if (warmUp.timeline) for (const line of formatTimeline(warmUp.timeline)) say(line);
    }
    // The raw CDC read below reads the measured burst's changes only: those after the max LSN now.
    const lsnBeforeBurst = Buffer.from(
      (await sim.admin.request().query<{ l: Buffer }>('SELECT sys.fn_cdc_get_max_lsn() AS l')).recordset[0]!.l,
    ).toString('hex');
    const burst = await landBurst(BURST, 'burst');
    const { updateMs, burstMs, captureMs, windowPathMs } = burst;
    const burstHistoryEvents = burst.historyEvents;
    const burstHistoryKinds = burst.historyKinds;
    const burstTimeline = burst.timeline;
    cpuSteps.burst = { rows: BURST, ...burst.cpu };
    if (burst.window) cpuSteps.burstWindow = { rows: BURST, ...burst.window };
    say(
      `  burst window path (in the change table → committed): ${windowPathMs === null ? 'n/a' : `${seconds(windowPathMs)}s`}` +
        `, ${burstHistoryEvents ?? 'n/a'} history events of the table's workflow (${Object.entries(burstHistoryKinds)
          .map(([k, n]) => `${k} ${n}`)
          .join(', ')})`,
    );
    if (burstTimeline) {
      say(`  burst window timeline (seconds from the wake's signal; the commit closed at +${burstTimeline.total}s):`);
      for (const line of formatTimeline(burstTimeline)) say(line);
    }
    say(
      `  incremental burst: ${BURST} updates committed in the source → in the lake in ${seconds(burstMs)}s` +
        ` (in the CDC change table after ${captureMs === null ? 'n/a' : `${seconds(captureMs)}s`}); simulator ${busyStep('burstToLake')}`,
    );
    const freshness = await lakeFreshness((await tableContext(p.deps, table)).lake);
    // Baseline of the incremental path: the same changes read raw from the CDC function — the burst's only (CDC
    // was enabled after the seed; the warm-up's changes are at or below the max LSN taken before the burst).
    const tCdc = performance.now();
    simBusy.lap();
    const cdcCpu = budget();
    const rawCdcRows = await rawStream(
      sim.admin,
      `DECLARE @f binary(10) = sys.fn_cdc_increment_lsn(0x${lsnBeforeBurst}), @t binary(10) = sys.fn_cdc_get_max_lsn();
       SELECT * FROM cdc.fn_cdc_get_all_changes_dbo_ClaimLines(@f, @t, N'all')`,
    );
    const rawCdcMs = performance.now() - tCdc;
    cpuSteps.rawCdcRead = { rows: rawCdcRows, ...cdcCpu.stop(rawCdcRows) };
    say(cpuTable(cpuSteps));
    say(
      `  raw CDC function read of the same changes: ${rawCdcRows} rows in ${seconds(rawCdcMs)}s; simulator ${busyStep('rawCdcRead')}`,
    );

    let verify: VerifyTableOutput | undefined;
    if (!values['skip-verify']) {
      verify = await verifyTable(p.deps, table);
      say(`  verify: ${fmtVerify(verify)}`);
    }
    const workerPeak = peakRssOf(worker.child.pid);
    const simPeak = peakRssOf(sim.child.pid);
    await terminate(p, [table]);
    const rawRate = rate(rawRows, rawMs) ?? 0;
    const ratio = (r: number | null) => (r === null || rawRate === 0 ? null : +(r / rawRate).toFixed(3));
    return {
      payloadEncryption: encrypted,
      observability: observed,
      rows: ROWS,
      maxRowsPerSecond: values['max-rows-per-second'] ? Number(values['max-rows-per-second']) : 'config default',
      raw: {
        skipped: SKIP_RAW,
        rows: rawRows,
        seconds: seconds(rawMs),
        rowsPerSecond: rawRate,
        runsSeconds: rawRuns.map((r) => seconds(r.ms)),
      },
      initialLoad: {
        rows: snap.rows,
        windows: snap.windows,
        seconds: seconds(loadMs),
        rowsPerSecond: rate(snap.rows, loadMs),
        ratioToRaw: ratio(rate(snap.rows, loadMs)),
        jobWorkflowSeconds: seconds(jobMs),
        jobRowsPerSecond: rate(snap.rows, jobMs),
        jobRatioToRaw: ratio(rate(snap.rows, jobMs)),
        timeline,
      },
      incremental: {
        changes: BURST,
        sourceUpdateSeconds: seconds(updateMs),
        commitToLakeSeconds: seconds(burstMs),
        commitToChangeTableSeconds: captureMs === null ? null : seconds(captureMs),
        windowPathSeconds: windowPathMs === null ? null : seconds(windowPathMs),
        windowPathRatioToRawCdcRead:
          windowPathMs === null || !rate(rawCdcRows, rawCdcMs)
            ? null
            : +(rate(BURST, windowPathMs)! / rate(rawCdcRows, rawCdcMs)!).toFixed(3),
        windowHistoryEvents: burstHistoryEvents,
        windowHistoryEventKinds: burstHistoryKinds,
        windowTimeline: burstTimeline,
        rowsPerSecond: rate(BURST, burstMs),
        ratioToRaw: ratio(rate(BURST, burstMs)),
        rawCdcRead: { rows: rawCdcRows, seconds: seconds(rawCdcMs), rowsPerSecond: rate(rawCdcRows, rawCdcMs) },
        ratioToRawCdcRead:
          rate(rawCdcRows, rawCdcMs) && rate(BURST, burstMs)
            ? +(rate(BURST, burstMs)! / rate(rawCdcRows, rawCdcMs)!).toFixed(3)
            : null,
        warmUp: warmUp
          ? {
              changes: WARM_BURST,
              windowPathSeconds: warmUp.windowPathMs === null ? null : seconds(warmUp.windowPathMs),
              windowPathRatioToRawCdcRead:
                warmUp.windowPathMs === null || !rate(rawCdcRows, rawCdcMs)
                  ? null
                  : +(rate(WARM_BURST, warmUp.windowPathMs)! / rate(rawCdcRows, rawCdcMs)!).toFixed(3),
              windowTimeline: warmUp.timeline,
            }
          : null,
        freshnessP50Seconds: freshness.p50Seconds,
        freshnessP95Seconds: freshness.p95Seconds,
      },
      verify: verify
        ? {
            ok: verify.ok,
            sourceRows: verify.sourceRows,
            lakeRows: verify.lakeRows,
            different: verify.different,
            missing: verify.missingInLake,
            extra: verify.extraInLake,
            seconds: seconds(verify.durationMs),
          }
        : null,
      peakRssMb: { worker: workerPeak, simulator: simPeak },
      workerRssDuringLoad,
      simulatorBusy,
      cpuSteps,
    };
  } finally {
    if (worker) await stopChild(worker.child);
    await p?.close();
    await sim.admin.close().catch(() => undefined);
    await stopChild(sim.child);
  }
}

async function freshness() {
  say(`B. freshness — claims workload at ${RATE} operations/s for ${MINUTES} min, cadence ${CADENCE_S}s …`);
  const sim = await startSim([]);
  const tables: TableRef[] = [
    { id: 'Claims.dbo.Claims', strategy: 'cdc' },
    { id: 'Claims.dbo.ClaimLines', strategy: 'cdc' },
  ];
  let worker: Awaited<ReturnType<typeof startWorkerProcess>> | undefined;
  let p: Pipeline | undefined;
  try {
    // Schema changes are left out (addColumnAt/widenAt): this measures steady-state freshness.
    const workload = new ClaimsWorkload(sim.admin, {
      seed: 7,
      rate: 0,
      longTransactionMs: 1500,
      addColumnAt: [],
      widenAt: Number.MAX_SAFE_INTEGER,
    });
    await workload.setup();
    await workload.run({ operations: 500 });
    await workload.drain();
    p = await pipeline('b', sim.port, [
      CLAIMS_PIPELINE_TABLES.cdc!,
      { name: 'dbo.ClaimLines', capture: '{ strategy: cdc }', businessDateColumn: 'ServiceDate' },
    ]);
    worker = await startWorkerProcess(p.configFile, p.env, 'worker-b');
    await tidemark(p, ['start']);
    for (const t of tables) await waitForSnapshot(p, t, 10 * 60_000);
    say('  initial snapshots committed; workload running …');

    const t0 = Date.now();
    const simBusy = new BusyMeter(sim.child.pid);
    const progress = setInterval(() => {
      void Promise.all(tables.map((t) => status(p!, t).catch(() => undefined))).then((all) =>
        say(
          `  [${Math.round((Date.now() - t0) / 1000)}s] ` +
            all
              .map((s, i) => `${tables[i]!.id}: ${s ? `${s.windowsCommitted} windows, ${s.rowsCommitted} rows` : '?'}`)
              .join(' | '),
        ),
      );
    }, 30_000);
    let ops = 0;
    for (let n = 1; Date.now() - t0 < MINUTES * 60_000; n++) {
      await workload.step();
      ops = n;
      const wait = t0 + (n * 1000) / RATE - Date.now();
      if (wait > 0) await sleep(wait);
    }
    await workload.drain();
    clearInterval(progress);
    const simulatorBusy = simBusy.lap();
    say(`  workload: ${ops} operations; simulator ${fmtBusy(simulatorBusy)}`);
    // Let the last changes land at the table's own cadence (never woken, so the tail is measured honestly).
    say(`  workload stopped; waiting ${Math.round(CADENCE_S * 1.5)}s for the last windows at the cadence …`);
    await sleep(CADENCE_S * 1500);
    const perTable: Record<
      string,
      Freshness & { windows: number; rows: number; verify: string | null; windowSteps: StepSummary }
    > = {};
    for (const t of tables) {
      const s = await status(p, t);
      const f = await lakeFreshness((await tableContext(p.deps, t)).lake);
      const v = values['skip-verify'] ? undefined : await verifyTable(p.deps, t);
      if (v) say(`  ${t.id} verify: ${fmtVerify(v)}`);
      // Where each window cycle's time went (cadence wait, plan, each activity's queue and run time), from the
      // workflow's own history: what explains the freshness figure.
      const windowStepsOf = await windowSteps(p.client, t.id);
      perTable[t.id] = {
        ...f,
        windows: s.windowsCommitted,
        rows: s.rowsCommitted,
        verify: v ? fmtVerify(v) : null,
        windowSteps: windowStepsOf,
      };
    }
    const workerPeak = peakRssOf(worker.child.pid);
    await terminate(p, tables);
    return {
      minutes: MINUTES,
      operationsPerSecond: RATE,
      workloadOperations: ops,
      cadenceSeconds: CADENCE_S,
      tables: perTable,
      peakRssMb: { worker: workerPeak, simulator: peakRssOf(sim.child.pid) },
      simulatorBusy,
    };
  } finally {
    if (worker) await stopChild(worker.child);
    await p?.close();
    await sim.admin.close().catch(() => undefined);
    await stopChild(sim.child);
  }
}

async function main(): Promise<void> {
  say(`bench:e2e — work files and child logs in ${workDir}`);
  await Promise.all([azuriteForTests(), temporalForTests()]);
  const runA = !values['skip-throughput'];
  const a = runA && CODEC !== 'on' && OBSERVABILITY !== 'on' ? await throughput(false) : null;
  const aEnc = runA && CODEC !== 'off' ? await throughput(true) : null;
  const aObs = runA && OBSERVABILITY !== 'off' ? await throughput(false, true) : null;
  const b = values['skip-freshness'] ? null : await freshness();
  const over = (x: number | null | undefined, y: number | null | undefined) =>
    x === null || x === undefined || !y ? null : +(x / y).toFixed(3);
  type PartA = NonNullable<typeof a>;
  const overhead = (x: PartA, base: PartA) => ({
    initialLoadRowsPerSecond: over(x.initialLoad.rowsPerSecond, base.initialLoad.rowsPerSecond),
    initialLoadRatioToRaw: over(x.initialLoad.ratioToRaw, base.initialLoad.ratioToRaw),
    jobRowsPerSecond: over(x.initialLoad.jobRowsPerSecond, base.initialLoad.jobRowsPerSecond),
    jobRatioToRaw: over(x.initialLoad.jobRatioToRaw, base.initialLoad.jobRatioToRaw),
    burstCommitToLakeSeconds: over(x.incremental.commitToLakeSeconds, base.incremental.commitToLakeSeconds),
    burstRatioToRawCdcRead: over(x.incremental.ratioToRawCdcRead, base.incremental.ratioToRawCdcRead),
  });
  const codecOverhead = a && aEnc ? overhead(aEnc, a) : null;
  const observabilityOverhead = a && aObs ? overhead(aObs, a) : null;
  const result = {
    benchmark: 'e2e',
    at: new Date().toISOString(),
    machine: { cpus: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
    throughput: a,
    throughputEncrypted: aEnc,
    codecOverhead,
    throughputObserved: aObs,
    observabilityOverhead,
    freshness: b,
    benchProcessPeakRssMb: mb(process.resourceUsage().maxRSS),
  };
  const out = values.out ?? join('bench', 'results', `e2e-${runId}.json`);
  await mkdir(dirname(out), { recursive: true });
  // Formatted as the repository's `format:check` expects, so a result kept in bench/results passes it.
  const { format } = await import('prettier');
  await writeFile(out, await format(JSON.stringify(result, null, 2), { parser: 'json' }));

  say('');
  say('bench:e2e results (ratios are against the raw driver read measured in this run)');
  const row = (k: string, v: string) => say(`  ${k.padEnd(44)} ${v}`);
  const n = (x: number | null | undefined) => (x === null || x === undefined ? 'n/a' : x.toLocaleString('en'));
  const s = (x: number | null | undefined) => (x === null || x === undefined ? 'n/a' : `${x.toFixed(1)}s`);
  for (const [a, label] of [
    [result.throughput, ''],
    [result.throughputEncrypted, ' [payloads encrypted]'],
  ] as const) {
    if (!a) continue;
    if (label) say(`  —${label}`);
    row(
      'raw mssql stream (SELECT *, arrayRowMode)',
      a.raw.skipped
        ? 'skipped (--skip-raw): no load ratio in this run'
        : `${n(a.raw.rowsPerSecond)} rows/s (${n(a.raw.rows)} rows; faster of ${a.raw.runsSeconds.map((x) => s(x)).join(', ')})`,
    );
    row(
      'initial load, tidemark start → committed',
      `${n(a.initialLoad.rowsPerSecond)} rows/s = ${a.initialLoad.ratioToRaw}× raw (${s(a.initialLoad.seconds)})`,
    );
    row(
      'initial load, snapshot job workflow only',
      `${n(a.initialLoad.jobRowsPerSecond)} rows/s = ${a.initialLoad.jobRatioToRaw}× raw (${s(a.initialLoad.jobWorkflowSeconds)})`,
    );
    row(
      `incremental: ${n(a.incremental.changes)} updates, commit → in lake`,
      `${s(a.incremental.commitToLakeSeconds)}, ${n(a.incremental.rowsPerSecond)} rows/s = ${a.incremental.ratioToRaw}× raw` +
        ` (capture ${s(a.incremental.commitToChangeTableSeconds)})`,
    );
    row(
      'incremental vs raw CDC function read',
      `${a.incremental.ratioToRawCdcRead}× (raw CDC read ${n(a.incremental.rawCdcRead.rowsPerSecond)} rows/s)`,
    );
    row(
      'burst freshness (source commit → manifest)',
      `p50 ${s(a.incremental.freshnessP50Seconds)}, p95 ${s(a.incremental.freshnessP95Seconds)}`,
    );
    row('verify (lake latest state vs source)', a.verify ? (a.verify.ok ? 'OK' : 'DIFFERENT') : 'skipped');
    row('peak RSS, worker process (A)', `${n(a.peakRssMb.worker)} MiB`);
    row('worker RSS during the initial load', fmtRss(a.workerRssDuringLoad));
  }
  if (codecOverhead) {
    say('  — codec overhead (encrypted ÷ plain, this run; the machine is shared)');
    row(
      'initial load rows/s',
      `${codecOverhead.initialLoadRowsPerSecond} (per raw read: ${codecOverhead.initialLoadRatioToRaw})`,
    );
    row(
      'snapshot job workflow rows/s',
      `${codecOverhead.jobRowsPerSecond} (per raw read: ${codecOverhead.jobRatioToRaw})`,
    );
    row('burst commit → in lake, seconds', `${codecOverhead.burstCommitToLakeSeconds}`);
  }
  if (observabilityOverhead) {
    say('  — observability overhead (metrics + receipts ÷ plain, this run; the machine is shared)');
    const o = observabilityOverhead;
    row('initial load rows/s', `${o.initialLoadRowsPerSecond} (per raw read: ${o.initialLoadRatioToRaw})`);
    row('snapshot job workflow rows/s', `${o.jobRowsPerSecond} (per raw read: ${o.jobRatioToRaw})`);
    row(
      'burst commit → in lake, seconds',
      `${o.burstCommitToLakeSeconds} (per raw CDC read: ${o.burstRatioToRawCdcRead})`,
    );
  }
  if (b) {
    for (const [id, f] of Object.entries(b.tables)) {
      row(
        `freshness ${id}`,
        `p50 ${s(f.p50Seconds)}, p95 ${s(f.p95Seconds)} over ${n(f.events)} events (${f.windows} windows)`,
      );
      for (const [step, q] of Object.entries(f.windowSteps.steps)) row(`  ${step}`, `p50 ${s(q.p50)}, p95 ${s(q.p95)}`);
    }
    row('peak RSS, worker process (B)', `${n(b.peakRssMb.worker)} MiB`);
  }
  row('peak RSS, bench process (client, verify)', `${n(result.benchProcessPeakRssMb)} MiB`);
  say(`  results: ${out}`);
}

await main();
process.exit(0);
