/**
 * `node --import tsx bench/cdc-window-queries.ts [--rows 100000 --burst 50000]`: what each source query of one
 * CDC window costs the source (the simulator's CPU seconds from /proc, bench/process-cpu.ts) per change, against
 * the raw read of the same changes from the CDC function (`SELECT *`, the bench:e2e burst's baseline). One
 * transaction updates `--burst` rows; once the capture job has them, each query runs twice and the cheaper run
 * counts (the machine is shared). Then the window as the worker plans and reads it (src/capture/window.ts's
 * planWindow, discovery included, then the strategy's read of the planned window after a JSON round trip, as it
 * crosses Temporal), twice: every statement it sends, by operation, with the simulator's CPU over each (the
 * cheaper of the two runs). Figures, not assertions.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { benchStack, stopChild } from './pipeline-stack.js';
import { cpuSecondsOf } from './process-cpu.js';
import { rawStream } from './raw-stream.js';
import { SourceConnection } from '../src/source/connection.js';
import { discoverTable } from '../src/source/discovery.js';
import { CdcStrategy } from '../src/source/strategies/cdc.js';
import * as captureWindow from '../src/capture/window.js';
import type { TableContext } from '../src/capture/table-context.js';
import type { WindowPlan } from '../src/domain/window.js';
import type { SourceWindow } from '../src/source/index.js';
import { DEFAULTS } from '../src/config/defaults.js';

const { values } = parseArgs({
  options: { rows: { type: 'string', default: '100000' }, burst: { type: 'string', default: '50000' } },
});
const ROWS = Number(values.rows);
const BURST = Number(values.burst);
const workDir = await mkdtemp(join(tmpdir(), 'tidemark-bench-cdc-q-'));
const { startSim } = benchStack({ workDir, runId: 'q', prefix: 'bench-cdc-q', cadenceSeconds: 60 });
const sim = await startSim(['--seed', '42', '--rows', String(ROWS)]);
try {
  await sim.admin.request().batch(`EXEC sys.sp_cdc_enable_db;
    EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'ClaimLines', @role_name = NULL;`);
  // The position before the burst: the window the worker would plan next starts here.
  let mx: Buffer | null = null;
  for (; !mx; await sleep(250))
    mx = (await sim.admin.request().query<{ mx: Buffer | null }>('SELECT sys.fn_cdc_get_max_lsn() AS mx')).recordset[0]!
      .mx;
  const lastPosition = mx.toString('hex') + 'f'.repeat(20);
  await sim.admin.request().batch(`UPDATE TOP (${BURST}) dbo.ClaimLines SET notes = N'repriced in bench'`);
  for (;;) {
    const r = await sim.admin
      .request()
      .query<{ n: number }>('SELECT COUNT(*) AS n FROM cdc.dbo_ClaimLines_CT WHERE __$operation = 4');
    if ((r.recordset[0]?.n ?? 0) >= BURST) break;
    await sleep(250);
  }
  const range = `DECLARE @from binary(10) = sys.fn_cdc_get_min_lsn(N'dbo_ClaimLines'), @to binary(10) = sys.fn_cdc_get_max_lsn();`;
  const fn = "cdc.fn_cdc_get_all_changes_dbo_ClaimLines(@from, @to, N'all')";
  const queries: Record<string, string> = {
    'raw SELECT * (baseline)': `SELECT * FROM ${fn}`,
    'plan: capped count (probe_count)': `SELECT COUNT_BIG(*) AS n FROM (SELECT TOP (100001) c.__$seqval AS s FROM ${fn} AS c) AS t`,
    'plan: TOP (1) probe': `SELECT TOP (1) 1 AS found FROM ${fn}`,
    'read: commit times (GROUP BY)': `SELECT TOP (50000) c.__$start_lsn AS lsn, sys.fn_cdc_map_lsn_to_time(c.__$start_lsn) AS t FROM ${fn} AS c GROUP BY c.__$start_lsn ORDER BY c.__$start_lsn OPTION (MAXDOP 1)`,
    'read: changes, ordered': `SELECT c.* FROM ${fn} AS c ORDER BY c.__$start_lsn, c.__$seqval, c.__$operation OPTION (MAXDOP 1)`,
    "read + commit time on a transaction's first row": `SELECT CASE WHEN ROW_NUMBER() OVER (PARTITION BY c.__$start_lsn ORDER BY c.__$seqval, c.__$operation) = 1 THEN sys.fn_cdc_map_lsn_to_time(c.__$start_lsn) END AS t, c.* FROM ${fn} AS c ORDER BY c.__$start_lsn, c.__$seqval, c.__$operation OPTION (MAXDOP 1)`,
    'read + commit time per row': `SELECT sys.fn_cdc_map_lsn_to_time(c.__$start_lsn) AS t, c.* FROM ${fn} AS c ORDER BY c.__$start_lsn, c.__$seqval, c.__$operation OPTION (MAXDOP 1)`,
  };
  for (const [name, q] of Object.entries(queries)) {
    let best: { cpu: number; ms: number; rows: number } | undefined;
    for (let i = 0; i < 2; i++) {
      const c0 = cpuSecondsOf(sim.child.pid) ?? 0;
      const t0 = performance.now();
      const rows = await rawStream(sim.admin, `${range}\n${q}`);
      const ms = performance.now() - t0;
      const cpu = (cpuSecondsOf(sim.child.pid) ?? 0) - c0;
      if (!best || cpu < best.cpu) best = { cpu, ms, rows };
    }
    console.log(
      `${name.padEnd(36)} simulator ${((best!.cpu * 1e6) / BURST).toFixed(1).padStart(6)} µs CPU per change, ` +
        `${(best!.ms / 1000).toFixed(2)} s, ${best!.rows} rows`,
    );
  }
  await windowPath(lastPosition);
} finally {
  await sim.admin.close().catch(() => undefined);
  await stopChild(sim.child);
}

/**
 * The window as the worker plans and reads it, twice: per operation (the `op` of SourceConnection.query/stream),
 * its statements and the simulator's CPU over them, the cheaper run of each operation.
 */
async function windowPath(last: string): Promise<void> {
  const conn = new SourceConnection(sim.admin, { maxConcurrentQueries: 1, maxRowsPerSecond: Number.MAX_SAFE_INTEGER });
  const best = new Map<string, { calls: number; cpu: number }>();
  for (let run = 0; run < 2; run++) {
    const ops = new Map<string, { calls: number; cpu: number }>();
    const add = (op: string, cpu: number) => {
      const o = ops.get(op) ?? { calls: 0, cpu: 0 };
      o.calls++;
      o.cpu += cpu;
      ops.set(op, o);
    };
    const query = conn.query.bind(conn);
    conn.query = (async (op: string, ...rest: unknown[]) => {
      const c0 = cpuSecondsOf(sim.child.pid) ?? 0;
      try {
        return await (query as (...a: unknown[]) => Promise<unknown>)(op, ...rest);
      } finally {
        add(op, (cpuSecondsOf(sim.child.pid) ?? 0) - c0);
      }
    }) as typeof conn.query;
    const stream = conn.stream.bind(conn);
    conn.stream = async function* (op: string, ...rest: unknown[]) {
      const c0 = cpuSecondsOf(sim.child.pid) ?? 0;
      try {
        yield* (stream as (...a: unknown[]) => AsyncGenerator<never>)(op, ...rest);
      } finally {
        add(op, (cpuSecondsOf(sim.child.pid) ?? 0) - c0);
      }
    } as typeof conn.stream;
    const context = async (): Promise<TableContext> =>
      ({
        ref: { id: 'Claims.dbo.ClaimLines', strategy: 'cdc' },
        strategy: new CdcStrategy(conn, await discoverTable(conn, 'dbo', 'ClaimLines', { strategy: 'cdc' })),
        config: { limits: { subRangeRows: DEFAULTS.subRangeRows } },
      }) as unknown as TableContext;
    const c0 = cpuSecondsOf(sim.child.pid) ?? 0;
    const planned = await captureWindow.planWindow(await context(), last, 1);
    const c1 = cpuSecondsOf(sim.child.pid) ?? 0;
    const w = JSON.parse(JSON.stringify(planned.window)) as WindowPlan;
    const ctx = await context();
    // Main before this branch has no sourceWindowOf: the read gets the window's bounds, as extractWindow built them.
    const of = (captureWindow as { sourceWindowOf?: typeof captureWindow.sourceWindowOf }).sourceWindowOf;
    const sw: SourceWindow = of
      ? of(ctx, w)
      : { strategy: 'cdc', from: w.from, to: w.to, empty: false, lagSeconds: null };
    let n = 0;
    for await (const b of ctx.strategy.readWindow(sw)) n += b.rows.length;
    const c2 = cpuSecondsOf(sim.child.pid) ?? 0;
    conn.query = query;
    conn.stream = stream;
    add('(plan activity, all)', c1 - c0);
    add('(extract read, all)', c2 - c1);
    console.log(`window path run ${run + 1}: ${n} changes, sub-ranges ${w.subRanges?.length ?? 0}`);
    for (const [op, o] of ops) {
      const b = best.get(op);
      if (!b || o.cpu < b.cpu) best.set(op, o);
    }
  }
  console.log('window path (as the worker plans and reads it), simulator CPU per operation, cheaper of two runs:');
  for (const [op, o] of best)
    console.log(
      `  ${op.padEnd(28)} ${String(o.calls).padStart(3)} statements  ${((o.cpu * 1e6) / BURST).toFixed(2).padStart(6)} µs per change`,
    );
}
