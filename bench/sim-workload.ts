/**
 * `npm run bench:sim:workload [-- --seconds 60 --rate 5000 --concurrency 8 --claims-per-statement 20 --rows 200000
 *  --burst 50000 --packet-size N --baseline-sim DIR --skip-workload --skip-reads --cpu-prof DIR --out FILE]`: the SQL Server
 * simulator alone, as a process, under what the sustained-load and end-to-end benches ask of it — no Tidemark,
 * no Temporal, no Azurite — with its busy share (CPU ÷ wall) and CPU per operation or row, per phase, so its own
 * speed can be measured and profiled (issue 14).
 *
 * 1. Workload: the claims workload (bench/steady-workload.ts's mix: claim inserts of 1–5 lines, re-pricings,
 *    claim updates) from `--concurrency` sessions at `--rate` ClaimLines change events/s (open loop), on a
 *    simulator with CDC on dbo.Claims and dbo.ClaimLines, the capture job polling every second: ops/s and
 *    ClaimLines events/s sustained, statement p50/p95, the simulator's busy share and CPU per operation.
 *    `--claims-per-statement` and `--concurrency` take comma-separated lists (e.g. `1,5,20,50`): one workload phase
 *    per combination, each on a fresh simulator, back to back in one run, so they compare within the run.
 * 2. Raw reads (a second simulator process, seeded with `--rows` rows of the 25-column dbo.ClaimLines, CDC on): the
 *    benches' baselines — `SELECT *` streamed by mssql in arrayRowMode, then one `UPDATE TOP (--burst)`, the
 *    capture job's time to harvest it, and the CDC function read of those changes.
 *
 * The workload's sessions use {@link WORKLOAD_PACKET_SIZE}-byte packets (see there); `--packet-size 4096` measures
 * them at tedious's default, as bench:load did before. `--baseline-sim DIR` runs each phase first on the simulator
 * of another checkout (DIR holds its `sim/`, e.g. `git archive <commit> sim package.json tsconfig.json` extracted,
 * node_modules linked), then on this one. `--cpu-prof DIR` runs each simulator process under `node --cpu-prof`
 * (profiles in DIR/baseline and DIR/ours, written when it exits).
 * Figures, not assertions; on a shared machine compare only within one run.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import sql from 'mssql';
import { SIM_CREDENTIALS } from '../sim/index.js';
import { benchStack, stopChild } from './pipeline-stack.js';
import { BusyMeter, fmtBusy } from './process-cpu.js';
import { rawStream } from './raw-stream.js';
import { quantileMs, SteadyWorkload, WORKLOAD_PACKET_SIZE, warmLoadWorkload, workloadPool } from './steady-workload.js';
import { positiveNumber, WORKLOAD_ARG_OPTIONS, workloadArgs, type WorkloadArgs } from './workload-options.js';

const { values } = parseArgs({
  options: {
    ...WORKLOAD_ARG_OPTIONS,
    seconds: { type: 'string', default: '60' },
    rows: { type: 'string', default: '200000' },
    burst: { type: 'string', default: '50000' },
    'skip-workload': { type: 'boolean', default: false },
    'skip-reads': { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
    'packet-size': { type: 'string' },
    'baseline-sim': { type: 'string' },
    out: { type: 'string' },
  },
});
const SECONDS = positiveNumber('seconds', values.seconds);
const list = (v: string | undefined) => (v ?? '').split(',').map((x) => x.trim());
const WORKLOADS = list(values['claims-per-statement']).flatMap((n) =>
  list(values.concurrency).map((c) => workloadArgs({ ...values, concurrency: c, 'claims-per-statement': n })),
);
const ROWS = positiveNumber('rows', values.rows);
const BURST = positiveNumber('burst', values.burst);
const say = (line: string) => process.stdout.write(`${line}\n`);
const rate = (n: number, ms: number) => Math.round((n * 1000) / ms);
const perOp = (cpuSeconds: number | null, n: number) =>
  cpuSeconds === null || n === 0 ? null : +((cpuSeconds * 1000) / n).toFixed(3);
const usPerRow = (cpuSeconds: number | null, n: number) =>
  cpuSeconds === null || n === 0 ? null : +((cpuSeconds * 1e6) / n).toFixed(1);
const at = new Date().toISOString();
const stack = benchStack({
  workDir: await mkdtemp(join(tmpdir(), 'tidemark-bench-sim-workload-')),
  runId: at.replace(/\D/g, '').slice(0, 14),
  prefix: 'bench-sim-workload',
  cadenceSeconds: 60, // no pipeline here: the simulator only
});

/** The simulator of this checkout, or of `dir` (another checkout's root: the code before). */
async function startSim(args: string[], poolMax: number, dir?: string) {
  const prof = values['cpu-prof']
    ? ['--cpu-prof', '--cpu-prof-dir', resolve(values['cpu-prof'], dir ? 'baseline' : 'ours')]
    : [];
  const sim = await stack.startSim(args, undefined, poolMax, prof, dir ? resolve(dir) : undefined);
  return {
    ...sim,
    stop: async () => {
      await sim.admin.close().catch(() => undefined);
      await stopChild(sim.child);
    },
  };
}

async function count(pool: sql.ConnectionPool, text: string): Promise<number> {
  const r = await pool.request().query<{ n: number }>(text);
  return r.recordset[0]?.n ?? 0;
}

/** Waits until the capture job has harvested `expected` change rows into `changeTable`; ms, or null after 10 min. */
async function harvested(pool: sql.ConnectionPool, changeTable: string, expected: number): Promise<number | null> {
  const t0 = performance.now();
  while (performance.now() - t0 < 10 * 60_000) {
    if ((await count(pool, `SELECT COUNT(*) AS n FROM ${changeTable}`)) >= expected) return performance.now() - t0;
    await sleep(100);
  }
  return null;
}

async function workloadPhase(WORKLOAD: WorkloadArgs, dir?: string) {
  const sim = await startSim([], 2, dir);
  const app = values['packet-size']
    ? await new sql.ConnectionPool({
        server: sim.host,
        port: sim.port,
        user: SIM_CREDENTIALS.admin.user,
        password: SIM_CREDENTIALS.admin.password,
        database: 'Claims',
        pool: { max: WORKLOAD.concurrency + 2, min: 0 },
        requestTimeout: 0,
        options: { encrypt: false, trustServerCertificate: true, packetSize: Number(values['packet-size']) },
      }).connect()
    : await workloadPool(sim.host, sim.port, WORKLOAD.concurrency + 2);
  try {
    const busy = new BusyMeter(sim.child.pid);
    const workload = await warmLoadWorkload(app, WORKLOAD.claimsPerStatement);
    const setup = busy.lap();
    say(`workload: setup + warm-up (~2,000 claims' operations), simulator ${fmtBusy(setup)}`);
    const ops = WORKLOAD.opsPerSecond;
    const driver = new SteadyWorkload(workload, ops, WORKLOAD.concurrency);
    const self = new BusyMeter(process.pid);
    driver.start();
    await sleep(SECONDS * 1000);
    await driver.stop();
    const c = driver.take();
    const during = busy.lap();
    const client = self.lap();
    const out = {
      packetSize: values['packet-size'] ? Number(values['packet-size']) : WORKLOAD_PACKET_SIZE,
      aimClaimLinesEventsPerSecond: WORKLOAD.rate,
      concurrency: WORKLOAD.concurrency,
      claimsPerStatement: WORKLOAD.claimsPerStatement,
      aimOperationsPerSecond: Math.round(ops),
      seconds: +c.seconds.toFixed(1),
      operationsPerSecond: Math.round(c.operations / c.seconds),
      claimLinesEventsPerSecond: Math.round(c.claimLinesEvents / c.seconds),
      claimsEventsPerSecond: Math.round(c.claimsEvents / c.seconds),
      skippedSlots: c.skippedSlots,
      errors: c.errors,
      firstError: driver.firstError ?? null,
      statementP50Ms: quantileMs(c.latenciesMs, 0.5),
      statementP95Ms: quantileMs(c.latenciesMs, 0.95),
      simulatorBusy: during,
      /** The simulator's CPU per operation (its capture job's share included): what its speed-ups cut. */
      simulatorCpuMsPerOperation: perOp(during.cpuSeconds, c.operations),
      /** The simulator's CPU per change event of both tables (the figure bench:load's sustained rate divides). */
      simulatorCpuUsPerEvent: usPerRow(during.cpuSeconds, c.claimLinesEvents + c.claimsEvents),
      clientBusy: client,
      clientCpuMsPerOperation: perOp(client.cpuSeconds, c.operations),
    };
    say(
      `workload (${out.claimsPerStatement} claims per statement, ${out.concurrency} sessions): ${out.operationsPerSecond} ops/s (aim ${out.aimOperationsPerSecond}), ${out.claimLinesEventsPerSecond} ClaimLines + ` +
        `${out.claimsEventsPerSecond} Claims events/s for ${out.seconds} s, ${out.skippedSlots} slots skipped, ${out.errors} errors; ` +
        `statement p50/p95 ${out.statementP50Ms}/${out.statementP95Ms} ms; simulator ${fmtBusy(during)}, ${out.simulatorCpuMsPerOperation} ms CPU/op, ${out.simulatorCpuUsPerEvent} µs CPU per change event; this process (the sessions) ${fmtBusy(client)}, ${out.clientCpuMsPerOperation} ms CPU/op`,
    );
    return out;
  } finally {
    await app.close().catch(() => undefined);
    await sim.stop();
  }
}

async function readsPhase(dir?: string) {
  const sim = await startSim(['--seed', '42', '--rows', String(ROWS)], 4, dir);
  try {
    await sim.admin.request().batch(`ALTER DATABASE Claims SET ALLOW_SNAPSHOT_ISOLATION ON;
      EXEC sys.sp_cdc_enable_db;
      EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'ClaimLines', @role_name = NULL;`);
    await rawStream(sim.admin, 'SELECT TOP 20000 * FROM dbo.ClaimLines'); // warm-up (JIT, connection)
    const busy = new BusyMeter(sim.child.pid);
    let t = performance.now();
    const selectRows = await rawStream(sim.admin, 'SELECT * FROM dbo.ClaimLines');
    const selectMs = performance.now() - t;
    const selectBusy = busy.lap();
    say(`reads: SELECT * ${selectRows} rows at ${rate(selectRows, selectMs)} rows/s; simulator ${fmtBusy(selectBusy)}`);
    t = performance.now();
    await sim.admin.request().batch(`UPDATE TOP (${BURST}) dbo.ClaimLines SET notes = N'repriced in bench'`);
    const updateMs = performance.now() - t;
    const updateBusy = busy.lap();
    const captureMs = await harvested(sim.admin, 'cdc.dbo_ClaimLines_CT WHERE __$operation = 4', BURST);
    const captureBusy = busy.lap();
    say(
      `reads: UPDATE TOP (${BURST}) in ${(updateMs / 1000).toFixed(2)} s (${fmtBusy(updateBusy)}); ` +
        `harvested by the capture job after ${captureMs === null ? 'n/a' : (captureMs / 1000).toFixed(2)} s (${fmtBusy(captureBusy)})`,
    );
    t = performance.now();
    const cdcRows = await rawStream(
      sim.admin,
      `DECLARE @f binary(10) = sys.fn_cdc_get_min_lsn(N'dbo_ClaimLines'), @t binary(10) = sys.fn_cdc_get_max_lsn();
       SELECT * FROM cdc.fn_cdc_get_all_changes_dbo_ClaimLines(@f, @t, N'all')`,
    );
    const cdcMs = performance.now() - t;
    const cdcBusy = busy.lap();
    say(`reads: CDC function ${cdcRows} rows at ${rate(cdcRows, cdcMs)} rows/s; simulator ${fmtBusy(cdcBusy)}`);
    return {
      rows: ROWS,
      select: {
        rows: selectRows,
        rowsPerSecond: rate(selectRows, selectMs),
        simulatorBusy: selectBusy,
        simulatorCpuUsPerRow: usPerRow(selectBusy.cpuSeconds, selectRows),
      },
      burstUpdate: {
        rows: BURST,
        seconds: +(updateMs / 1000).toFixed(2),
        simulatorBusy: updateBusy,
        simulatorCpuUsPerRow: usPerRow(updateBusy.cpuSeconds, BURST),
      },
      capture: {
        seconds: captureMs === null ? null : +(captureMs / 1000).toFixed(2),
        simulatorBusy: captureBusy,
        simulatorCpuUsPerRow: usPerRow(captureBusy.cpuSeconds, BURST),
      },
      cdcFunction: {
        rows: cdcRows,
        rowsPerSecond: rate(cdcRows, cdcMs),
        simulatorBusy: cdcBusy,
        simulatorCpuUsPerRow: usPerRow(cdcBusy.cpuSeconds, cdcRows),
      },
    };
  } finally {
    await sim.stop();
  }
}

// With --baseline-sim, each phase runs on the baseline simulator, then on this one, back to back: compare the two
// within the run (the machine is shared), above all the simulator's CPU per operation and per row.
const baseline = values['baseline-sim'];
const both = async <T>(name: string, phase: (dir?: string) => Promise<T>) => {
  if (!baseline) return { ours: await phase() };
  say(`${name}: baseline simulator (${baseline})`);
  const before = await phase(baseline);
  say(`${name}: this checkout's simulator`);
  return { baseline: before, ours: await phase() };
};
const result = {
  benchmark: 'sim-workload',
  at,
  machine: { cpus: cpus().length, node: process.version },
  baselineSimulator: baseline ?? null,
  workload: values['skip-workload']
    ? null
    : await (async () => {
        const out = [];
        for (const w of WORKLOADS) out.push(await both('workload', (dir?: string) => workloadPhase(w, dir)));
        return WORKLOADS.length === 1 ? out[0] : out;
      })(),
  reads: values['skip-reads'] ? null : await both('reads', readsPhase),
};
const out = values.out ?? join('bench', 'results', `sim-workload-${result.at.replace(/\D/g, '').slice(0, 12)}.json`);
await mkdir(dirname(out), { recursive: true });
// Formatted as the repository's `format:check` expects, so a result kept in bench/results passes it.
const { format } = await import('prettier');
await writeFile(out, await format(JSON.stringify(result, null, 2), { parser: 'json' }));
say(`results: ${out}`);
process.exit(0);
