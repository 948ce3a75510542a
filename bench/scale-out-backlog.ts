/**
 * `npm run bench:scale:backlog [-- --changes 100000 --cap 500 --sub-range-rows 5000 --table-rows 10000
 * --workers 1,2,4 --slots 1 --out FILE]`: one busy table's change backlog drained by 1, 2 and 4 workers
 * (issue 14, "one busy table scales out"), in one run against one simulator.
 *
 * For each worker count, on a fresh lake (its own container and task queue): the CDC table dbo.Backlog
 * (`--table-rows` rows) is loaded by its snapshot; then `--changes` updates are written in transactions of 1,000
 * rows and left for the capture job to harvest; then the table is woken and the time until the window holding the
 * whole backlog is committed is measured (planning, the sub-range split, every sub-range's read and staging,
 * validation and the one manifest's commit). The window is split into sub-ranges of about `--sub-range-rows`
 * changes (`limits.subRangeRows`), read by parallel activities on whichever worker has a free slot.
 *
 * Honest on a 2-core machine: every activity is capped at `--cap` rows/s (`limits.maxRowsPerSecond`, whose
 * scope is one activity: each activity builds its own strategy and rows/s limiter — src/source/index.ts), well
 * below what the machine can do, so a worker's throughput is set by its slots, not by the CPU the workers share.
 * Each worker is its own process with `--slots` activity slots (`--activity-concurrency`, default 1): "two
 * workers" is twice the slots of "one worker", the unit a production pool adds. With 4 slots per worker, one
 * worker would already read four sub-ranges at once and the comparison would measure slots, not workers.
 *
 * `--capacity` first drains the same backlog on the largest pool with the cap lifted (1,000,000 rows/s: the
 * machine's rate for this backlog and pool, measured in this run), against which the capped demand (workers ×
 * slots × cap) is printed. Per run, the bench prints how fast the capped sub-range reads actually went (from the
 * table's workflow history): about the cap when the cap, not the machine, set the pace.
 *
 * Results: ratios (drain time of 1 worker ÷ drain time of N), measured in this run; JSON in
 * `bench/results/scale-out-backlog-<timestamp>.json` (or `--out`). Figures, not assertions; the machine is shared.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { tableContext } from '../src/capture/table-context.js';
import { WINDOW_READ_ACTIVITIES } from '../src/activities/contracts.js';
import type { TableRef } from '../src/domain/table.js';
import type { Manifest } from '../src/lake/manifest.js';
import { activityDurations, activityRates, type ActivityRates } from './scale-out-activity-rates.js';
import { benchStack, stopChild } from './pipeline-stack.js';
import { pauseSignal, resumeSignal, statusQuery, syncNowSignal } from '../src/workflows/messages.js';
import { tableSyncWorkflow, tableSyncWorkflowId } from '../src/workflows/table-sync.js';

const { values } = parseArgs({
  options: {
    changes: { type: 'string', default: '100000' },
    cap: { type: 'string', default: '500' },
    'sub-range-rows': { type: 'string', default: '5000' },
    'table-rows': { type: 'string', default: '10000' },
    workers: { type: 'string', default: '1,2,4' },
    slots: { type: 'string', default: '1' },
    capacity: { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});
const CHANGES = Number(values.changes);
const CAP = Number(values.cap);
const SUB_RANGE_ROWS = Number(values['sub-range-rows']);
const TABLE_ROWS = Number(values['table-rows']);
const WORKERS = values.workers.split(',').map(Number);
const SLOTS = Number(values.slots);
const TX_ROWS = 1000;
const TABLE: TableRef = { id: 'Claims.dbo.Backlog', strategy: 'cdc' };
const runId = Date.now().toString(36);
const workDir = await mkdtemp(join(tmpdir(), 'tidemark-scale-backlog-'));
// The table's cadence is long (10 minutes): the bench wakes it when the backlog is written.
const stack = benchStack({ workDir, runId, prefix: 'bench-scale', cadenceSeconds: 600 });
const children: ChildProcess[] = [];
const say = (s: string) => process.stdout.write(`${s}\n`);
const seconds = (ms: number) => (ms / 1000).toFixed(1);

async function startSim() {
  // A 1M-change backlog per run, several runs: the change table holds millions of rows in the simulator's heap.
  const sim = await stack.startSim([], undefined, 4, ['--max-old-space-size=8192']);
  children.push(sim.child);
  return sim;
}

type Admin = Awaited<ReturnType<typeof startSim>>['admin'];

/** Updates harvested into the change table: each is two rows there (before and after image); counts the after. */
async function changeRows(admin: Admin): Promise<number> {
  const r = await admin
    .request()
    .query<{ n: number }>('SELECT COUNT(*) AS n FROM cdc.dbo_Backlog_CT WHERE __$operation = 4');
  return r.recordset[0]!.n;
}

/** `CHANGES` updates in transactions of `TX_ROWS` rows, then waits until the capture job harvested them. */
async function writeBacklog(admin: Admin): Promise<void> {
  const started = Date.now();
  const before = await changeRows(admin);
  for (let done = 0; done < CHANGES; done += TX_ROWS) {
    const lo = (done % TABLE_ROWS) + 1;
    await admin
      .request()
      .batch(
        `UPDATE dbo.Backlog SET n = n + 1 WHERE id BETWEEN ${lo} AND ${lo + Math.min(TX_ROWS, CHANGES - done) - 1}`,
      );
  }
  const deadline = Date.now() + 30 * 60_000;
  while ((await changeRows(admin)) < before + CHANGES) {
    if (Date.now() > deadline) throw new Error('the capture job did not harvest the backlog in 30 minutes');
    await sleep(3_000); // each count scans the change table (millions of rows after a few 1M runs)
  }
  say(`    backlog written and harvested in ${seconds(Date.now() - started)} s`);
}

interface RunResult {
  workers: number;
  drainMs: number;
  changes: number;
  subRanges: number;
  changesPerSecond: number;
  /** How fast the sub-range reads (extractWindow activities of the backlog's window) went. */
  subRangeActivities?: ActivityRates;
}

async function run(workers: number, sim: { port: number; admin: Admin }, cap = CAP): Promise<RunResult> {
  const name = cap === CAP ? `w${workers}` : `w${workers}-uncapped`;
  const p = await stack.pipeline(name, sim.port, [
    {
      name: 'dbo.Backlog',
      capture: '{ strategy: cdc }',
      limits: `{ maxRowsPerSecond: ${cap}, subRangeRows: ${SUB_RANGE_ROWS} }`,
    },
  ]);
  const procs = await Promise.all(
    Array.from({ length: workers }, (_v, i) =>
      stack.startWorkerProcess(p.configFile, p.env, `worker-${name}-${i}`, undefined, [
        '--activity-concurrency',
        String(SLOTS),
      ]),
    ),
  );
  children.push(...procs.map((w) => w.child));
  try {
    const handle = await p.client.workflow.start(tableSyncWorkflow, {
      taskQueue: p.taskQueue,
      workflowId: tableSyncWorkflowId(TABLE.id),
      args: [{ table: TABLE, cadenceSeconds: 600 }],
    });
    const status = () => handle.query(statusQuery);
    const waitRows = async (rows: number, what: string) => {
      const deadline = Date.now() + 60 * 60_000;
      for (;;) {
        const s = await status();
        if (s.mode === 'stopped') throw new Error(`${TABLE.id} stopped: ${s.stoppedReason ?? ''}`);
        if (s.rowsCommitted >= rows) return;
        if (Date.now() > deadline) throw new Error(`${what}: not done in an hour`);
        await sleep(200);
      }
    };
    await waitRows(TABLE_ROWS, 'snapshot');
    // Paused while the backlog is written and harvested, so that no window starts on part of it.
    await handle.signal(pauseSignal, { now: false, reason: 'benchmark: writing the backlog' });
    for (let s = await status(); s.mode !== 'paused'; s = await status()) await sleep(200);
    say(`  ${name}: snapshot of ${TABLE_ROWS} rows loaded, table paused; writing ${CHANGES} changes`);
    await writeBacklog(sim.admin);
    const t0 = Date.now();
    await handle.signal(resumeSignal);
    await handle.signal(syncNowSignal);
    await waitRows(TABLE_ROWS + CHANGES, 'backlog');
    const drainMs = Date.now() - t0;
    // Only the backlog's window ran sub-ranges (the snapshot is a job of its own; the table is paused before).
    const durations = activityDurations(await handle.fetchHistory(), WINDOW_READ_ACTIVITIES);
    const subRangeActivities = activityRates(
      durations.filter((d) => d > 0),
      CHANGES,
      cap,
    );
    await handle.terminate('benchmark run done');
    const lake = (await tableContext(p.deps, TABLE)).lake;
    let subRanges = 0;
    for await (const item of lake.store.list(lake.layout.manifestsPrefix)) {
      const got = await lake.store.get(item.path);
      const m = got ? (JSON.parse(got.body.toString('utf8')) as Manifest) : undefined;
      if (!m || m.controlTotals.rows < CHANGES) continue;
      subRanges = new Set(m.files.map((f) => /-r(\d+)-/.exec(f.path)?.[1] ?? 'whole')).size;
    }
    const r = {
      workers,
      drainMs,
      changes: CHANGES,
      subRanges,
      changesPerSecond: Math.round(CHANGES / (drainMs / 1000)),
      subRangeActivities,
    };
    const a = subRangeActivities;
    say(
      `  ${name}: ${CHANGES} changes drained in ${seconds(drainMs)} s (${r.changesPerSecond}/s, ${subRanges} sub-ranges)` +
        (a
          ? `; sub-range reads ${a.meanSeconds}s mean, ${a.maxSeconds}s max, ~${a.meanRowsPerSecond}/s each` +
            (cap === CAP ? ` (${a.ofCap}× the cap)` : '')
          : ''),
    );
    return r;
  } finally {
    await p.close();
    await Promise.all(procs.map((w) => stopChild(w.child)));
  }
}

async function main(): Promise<void> {
  say(
    `scale-out of one table's backlog: ${CHANGES} CDC changes, ${CAP} rows/s per activity, sub-ranges of ` +
      `${SUB_RANGE_ROWS}, ${SLOTS} slot(s) per worker, workers ${WORKERS.join('/')}; ${cpus().length} cores (shared)`,
  );
  const sim = await startSim();
  await sim.admin.request().batch('EXEC sys.sp_cdc_enable_db;');
  await sim.admin.request()
    .batch(`CREATE TABLE dbo.Backlog (id int NOT NULL PRIMARY KEY, n int NOT NULL, note varchar(40) NULL);
    EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'Backlog', @role_name = NULL;`);
  for (let i = 0; i < TABLE_ROWS; i += 1000) {
    const ids = Array.from({ length: Math.min(1000, TABLE_ROWS - i) }, (_v, k) => i + k + 1);
    await sim.admin
      .request()
      .batch(`INSERT INTO dbo.Backlog (id, n, note) VALUES ${ids.map((id) => `(${id}, 0, 'row ${id}')`).join(', ')}`);
  }
  const runs: RunResult[] = [];
  let capacity: RunResult | undefined;
  try {
    if (values.capacity) capacity = await run(Math.max(...WORKERS), sim, 1_000_000);
    for (const w of WORKERS) runs.push(await run(w, sim));
  } finally {
    await sim.admin.close();
  }
  const one = runs.find((r) => r.workers === 1);
  const ratios = runs
    .filter((r) => r.workers !== 1)
    .map((r) => ({ workers: r.workers, speedup: one ? Number((one.drainMs / r.drainMs).toFixed(2)) : null }));
  say('');
  say('| workers | drain (s) | changes/s | sub-ranges | speed-up vs 1 worker |');
  say('| ------: | --------: | --------: | ---------: | -------------------: |');
  for (const r of runs) {
    const ratio = one ? (one.drainMs / r.drainMs).toFixed(2) : '-';
    say(`| ${r.workers} | ${seconds(r.drainMs)} | ${r.changesPerSecond} | ${r.subRanges} | ${ratio}× |`);
  }
  const demand = Math.max(...WORKERS) * SLOTS * CAP;
  say(
    `\ncapped demand at the largest pool: ${demand} changes/s (${Math.max(...WORKERS)} workers × ${SLOTS} slot(s) × ${CAP})` +
      (capacity
        ? `, ${(demand / capacity.changesPerSecond).toFixed(2)} of the capacity measured in this run ` +
          `(${capacity.changesPerSecond} changes/s, ${capacity.workers} workers, cap lifted)`
        : ' (--capacity measures the machine in the same run)'),
  );
  const out =
    values.out ?? join('bench', 'results', `scale-out-backlog-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  await mkdir(dirname(out), { recursive: true });
  await writeFile(
    out,
    `${JSON.stringify({ changes: CHANGES, cap: CAP, subRangeRows: SUB_RANGE_ROWS, slots: SLOTS, capacity, runs, ratios }, null, 2)}\n`,
  );
  say(`\nresults: ${out}`);
}

try {
  await main();
} finally {
  await Promise.all(children.map((c) => stopChild(c)));
}
process.exit(0);
