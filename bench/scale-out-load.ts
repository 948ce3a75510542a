/**
 * `npm run bench:scale:load [-- --rows 2000000 --chunk-rows 250000 --cap 2000 --slots 2 --workers 1,2,4 --out FILE]`:
 * one table's initial load (a snapshot job of dbo.ClaimLines) on 1, 2 and 4 Tidemark workers, to show that its
 * chunks fan out over the worker pool (issue 14).
 *
 * This machine cannot give four workers four times the CPU (the simulator, Azurite, Temporal and every worker
 * share it), so the comparison shows the mechanism, not the machine: each chunk activity is capped well below
 * what the machine sustains (`limits.maxChunkRowsPerSecond`, `--cap`, per activity), so a chunk takes the same
 * time wherever it runs and the load's duration is set by how many chunks run at once. Honesty rules:
 *
 * - every worker has the same activity slots (`--slots`, by default 1, as in the runs quoted in
 *   docs/performance.md), in every configuration: more workers, never more slots per worker;
 * - the job's lanes (chunks scheduled at once) are the default (`DEFAULT_JOB_LANES`), the same in every run;
 * - the chunks are the same in every run (same table, same `--chunk-rows`): only the worker count changes;
 * - the whole capped demand (workers × slots × cap) must stay well below the uncapped rate of one worker (the
 *   bench prints both; when it does not, the ratios measure the machine, and the bench says so);
 * - each run lands in its own fresh container and task queue; the duration is the job workflow's own
 *   start → close (planning, every chunk, every commit), as Temporal recorded it.
 *
 * `--capacity` first runs the largest pool with the cap lifted: the machine's load rate for this table and pool,
 * measured in this run, against which the capped demand is printed. Per run, the bench also prints how fast the
 * capped chunk activities actually read (from the job's history): about the cap when the cap set the pace.
 *
 * Results: one JSON document (`bench/results/scale-out-load-<timestamp>.json` or `--out`) and a table on stdout.
 * Figures, not assertions; the machine is shared, so compare the ratios of one run.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { cpus, hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import type { JobOutput } from '../src/domain/jobs.js';
import type { TableRef } from '../src/domain/table.js';
import { activityDurations, activityRates, type ActivityRates } from './scale-out-activity-rates.js';
import { benchStack, stopChild } from './pipeline-stack.js';
import { DEFAULT_CHUNK_ROWS, DEFAULT_JOB_LANES } from '../src/workflows/chunked-job-run.js';
import { jobWorkflowId, type ChunkedJobInput } from '../src/workflows/chunked-jobs.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '2000000' },
    'chunk-rows': { type: 'string', default: String(DEFAULT_CHUNK_ROWS) },
    cap: { type: 'string', default: '2000' },
    slots: { type: 'string', default: '1' },
    workers: { type: 'string', default: '1,2,4' },
    capacity: { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});
const ROWS = Number(values.rows);
const CHUNK_ROWS = Number(values['chunk-rows']);
const CAP = Number(values.cap);
const SLOTS = Number(values.slots);
const WORKER_COUNTS = values.workers.split(',').map(Number);
const LINES: TableRef = { id: 'Claims.dbo.ClaimLines', strategy: 'cdc' };
const say = (line: string) => process.stdout.write(`${line}\n`);

interface RunResult {
  workers: number;
  seconds: number;
  rowsPerSecond: number;
  chunks: number;
  rows: number;
  /** Chunk attempts started per worker (by its place in the run: w1, w2, …). */
  chunksPerWorker: number[];
  /** How fast the chunk activities read (undefined for the uncapped capacity run's ofCap). */
  chunkActivities?: ActivityRates;
}

type Stack = ReturnType<typeof benchStack>;

/** The SQL Server simulator seeded with `rows` claim lines, as its own process. */
async function startSim(stack: Stack, rows: number): Promise<{ child: ChildProcess; port: number }> {
  const { child, port, admin } = await stack.startSim(['--seed', '42', '--rows', String(rows)], undefined, 2, [
    '--max-old-space-size=12288',
  ]);
  process.once('exit', () => child.kill('SIGKILL'));
  // As bench:e2e part A: snapshot reads under SNAPSHOT isolation, CDC on (the snapshot records a CDC position).
  await admin.request().batch(`ALTER DATABASE Claims SET ALLOW_SNAPSHOT_ISOLATION ON;
    EXEC sys.sp_cdc_enable_db;
    EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'ClaimLines', @role_name = NULL;`);
  await admin.close();
  return { child, port };
}

/** One configuration: `n` workers, a fresh container and task queue, the snapshot job from start to close. */
async function runWith(
  n: number,
  o: { stack: Stack; simPort: number },
  /** Rows/s per chunk activity; null: the cap lifted (the capacity run). */
  cap: number | null = CAP,
): Promise<RunResult> {
  const id = randomBytes(4).toString('hex');
  const p = await o.stack.pipeline(`${n}w-${id}`, o.simPort, [
    // The seeded ClaimLines as bench:e2e part A configures it (its own primary key).
    {
      name: 'dbo.ClaimLines',
      capture: '{ strategy: cdc }',
      ...(cap === null ? {} : { limits: `{ maxChunkRowsPerSecond: ${cap} }` }),
    },
  ]);
  const workers: { child: ChildProcess; identity: string }[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const w = await o.stack.startWorkerProcess(p.configFile, p.env, `worker-${n}w-${i + 1}`, undefined, [
        '--activity-concurrency',
        String(SLOTS),
      ]);
      // The identity Temporal records for its tasks: the SDK's default, pid@host.
      workers.push({ child: w.child, identity: `${w.child.pid}@${hostname()}` });
    }
    const input: ChunkedJobInput = {
      table: LINES,
      job: { kind: 'snapshot', reason: 'bench:scale:load' },
      firstSeq: 1,
      chunkRows: CHUNK_ROWS,
    };
    const workflowId = jobWorkflowId(LINES.id, 'snapshot', `scale-${n}w-${id}`);
    const handle = await p.client.workflow.start('snapshotWorkflow', {
      taskQueue: p.taskQueue,
      workflowId,
      args: [input],
    });
    const out = (await handle.result()) as JobOutput;
    const d = await handle.describe();
    const seconds = ((d.closeTime?.getTime() ?? Date.now()) - d.startTime.getTime()) / 1000;
    const perIdentity = new Map<string, number>();
    const history = await handle.fetchHistory();
    const types = new Map<string, string>();
    for (const e of history.events ?? []) {
      const s = e.activityTaskScheduledEventAttributes;
      if (s) types.set(String(e.eventId), s.activityType?.name ?? '');
      const st = e.activityTaskStartedEventAttributes;
      if (st && types.get(String(st.scheduledEventId)) === 'runChunk')
        perIdentity.set(st.identity ?? '', (perIdentity.get(st.identity ?? '') ?? 0) + 1);
    }
    return {
      workers: n,
      seconds,
      rowsPerSecond: out.rows / seconds,
      chunks: out.chunks,
      rows: out.rows,
      chunksPerWorker: workers.map((w) => perIdentity.get(w.identity) ?? 0),
      chunkActivities: activityRates(activityDurations(history, 'runChunk'), out.rows, cap ?? Number.NaN),
    };
  } finally {
    for (const w of workers) await stopChild(w.child);
    await p.close();
  }
}

async function main(): Promise<void> {
  const runId = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  const workDir = await mkdtemp(join(tmpdir(), 'tidemark-scale-load-'));
  say(
    `bench:scale:load — ${ROWS.toLocaleString('en')} rows of dbo.ClaimLines in chunks of ${CHUNK_ROWS.toLocaleString('en')} keys, ` +
      `each chunk activity capped at ${CAP.toLocaleString('en')} rows/s, ${SLOTS} slots per worker, job lanes ${DEFAULT_JOB_LANES}; ` +
      `machine: ${cpus().length} cores, shared (logs in ${workDir})`,
  );
  const t0 = Date.now();
  // Cadence: the job is started directly (no table-sync workflow); the config needs one.
  const stack = benchStack({ workDir, runId: runId.toLowerCase(), prefix: 'scale-load', cadenceSeconds: 600 });
  const sim = await startSim(stack, ROWS);
  say(`  simulator seeded in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  const runs: RunResult[] = [];
  let capacity: RunResult | undefined;
  const rates = (r: RunResult) =>
    r.chunkActivities
      ? `; chunk activities ${r.chunkActivities.meanSeconds}s mean, ${r.chunkActivities.maxSeconds}s max, ` +
        `${r.chunkActivities.meanRowsPerSecond.toLocaleString('en')} rows/s each` +
        (Number.isNaN(r.chunkActivities.ofCap) ? '' : ` (${r.chunkActivities.ofCap}× the cap)`)
      : '';
  try {
    if (values.capacity) {
      const n = Math.max(...WORKER_COUNTS);
      capacity = await runWith(n, { stack, simPort: sim.port }, null);
      say(
        `  capacity: ${n} worker(s), cap lifted: ${capacity.rows.toLocaleString('en')} rows in ${capacity.seconds.toFixed(1)}s = ` +
          `${Math.round(capacity.rowsPerSecond).toLocaleString('en')} rows/s${rates(capacity)}`,
      );
    }
    for (const n of WORKER_COUNTS) {
      const r = await runWith(n, { stack, simPort: sim.port });
      runs.push(r);
      say(
        `  ${n} worker(s): ${r.rows.toLocaleString('en')} rows, ${r.chunks} chunks in ${r.seconds.toFixed(1)}s = ` +
          `${Math.round(r.rowsPerSecond).toLocaleString('en')} rows/s; chunk attempts per worker [${r.chunksPerWorker.join(', ')}]` +
          rates(r),
      );
    }
  } finally {
    await stopChild(sim.child);
  }
  const base = runs.find((r) => r.workers === 1);
  const ratios = runs.map((r) => ({ workers: r.workers, speedup: base ? base.seconds / r.seconds : null }));
  const demand = Math.max(...WORKER_COUNTS) * SLOTS * CAP;
  say('bench:scale:load results (speed-up = 1-worker duration ÷ n-worker duration, same run)');
  for (const r of ratios) say(`  ${r.workers} worker(s): ${r.speedup === null ? 'n/a' : `${r.speedup.toFixed(2)}×`}`);
  say(
    `  capped demand at the largest pool: ${demand.toLocaleString('en')} rows/s (${Math.max(...WORKER_COUNTS)} workers × ${SLOTS} slots × ${CAP} rows/s); ` +
      (capacity
        ? `${(demand / capacity.rowsPerSecond).toFixed(2)} of the capacity measured in this run ` +
          `(${Math.round(capacity.rowsPerSecond).toLocaleString('en')} rows/s, ${capacity.workers} workers uncapped)`
        : `compare with one uncapped worker's load rate (bench:e2e part A, or --capacity)`) +
      ' — near or above it, the ratios measure the machine',
  );
  const out = values.out ?? join('bench', 'results', `scale-out-load-${runId}.json`);
  await mkdir(dirname(out), { recursive: true });
  const { format } = await import('prettier');
  const result = {
    bench: 'scale-out-load',
    runId,
    machine: { cores: cpus().length, shared: true },
    settings: {
      rows: ROWS,
      chunkRows: CHUNK_ROWS,
      capRowsPerSecondPerActivity: CAP,
      slotsPerWorker: SLOTS,
      jobLanes: DEFAULT_JOB_LANES,
    },
    capacity,
    runs,
    ratios,
  };
  await writeFile(out, await format(JSON.stringify(result, null, 2), { parser: 'json' }));
  say(`  results: ${out}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    const causes: string[] = [];
    for (let e: unknown = err; e instanceof Error; e = e.cause) causes.push(e.message);
    process.stderr.write(`bench:scale:load failed: ${causes.length ? causes.join(' ← ') : String(err)}\n`);
    process.exit(1);
  },
);
