/**
 * planWindow's source queries, counted and timed per plan (issue 14, branch i14-plan): what one window's plan
 * asks the source — discovery's catalog queries (tableContext), the plan's bounds, the idle probe and the capped
 * sub-range count — for a CDC and a rowversion table, with windows of `--small` changes (the 10 s cadence's
 * size) and one of `--burst` changes. Against the simulator in this process (real TDS, real mssql driver); the
 * simulator's own row accounting (`sim.statement_stats`) gives the rows each query read, which, unlike the
 * milliseconds, does not depend on the machine's load.
 *
 *   node --import tsx bench/plan-queries.ts [--small 100] [--burst 20000] [--plans 10]
 */
import { parseArgs } from 'node:util';
import { discoverTable } from '../src/source/discovery.js';
import { CdcStrategy } from '../src/source/strategies/cdc.js';
import { RowversionStrategy } from '../src/source/strategies/rowversion.js';
import type { CaptureStrategy } from '../src/source/index.js';
import { planWindow } from '../src/capture/window.js';
import type { TableContext } from '../src/capture/table-context.js';
import { DEFAULTS } from '../src/config/defaults.js';
import { startSourceSim } from '../test/support/source-sim.js';

const { values: args } = parseArgs({
  options: {
    small: { type: 'string', default: '100' },
    burst: { type: 'string', default: '20000' },
    plans: { type: 'string', default: '10' },
  },
});
const SMALL = Number(args.small);
const BURST = Number(args.burst);
const PLANS = Number(args.plans);

const s = await startSourceSim();
await s.admin.request().batch('EXEC sys.sp_cdc_enable_db');
const conn = await s.connect({ poolMax: 1 });

/** Per operation: calls and milliseconds (the wrapper forwards every call; it only measures). */
const calls = new Map<string, { n: number; ms: number }>();
const query = conn.query.bind(conn);
conn.query = async (op: string, ...rest: Parameters<typeof query> extends [string, ...infer R] ? R : never) => {
  const t0 = performance.now();
  try {
    return await query(op, ...rest);
  } finally {
    const c = calls.get(op) ?? { n: 0, ms: 0 };
    c.n++;
    c.ms += performance.now() - t0;
    calls.set(op, c);
  }
};

async function insert(table: string, from: number, n: number, perTx: number): Promise<void> {
  for (let i = 0; i < n; i += perTx) {
    const ids = Array.from({ length: Math.min(perTx, n - i) }, (_v, k) => from + i + k);
    await s.admin
      .request()
      .batch(`INSERT INTO dbo.${table} (id, note) VALUES ${ids.map((id) => `(${id}, 'n')`).join(', ')}`);
  }
}

/** One plan as the planWindow activity runs it: fresh discovery, a new strategy, the plan and its sub-ranges. */
async function planOnce(table: string, strategy: 'cdc' | 'rowversion', last: string | null) {
  const d = await discoverTable(conn, 'dbo', table, { strategy });
  const st: CaptureStrategy = strategy === 'cdc' ? new CdcStrategy(conn, d) : new RowversionStrategy(conn, d, 'rv');
  const ctx = { strategy: st, config: { limits: { subRangeRows: DEFAULTS.subRangeRows } } } as unknown as TableContext;
  return planWindow(ctx, last, 1);
}

let lastStatement = 0;
const spid = Number((await conn.query<{ id: number }>('bench.spid', 'SELECT @@SPID AS id'))[0]!.id);
async function markStatements() {
  const r = await s.admin
    .request()
    .query<{ m: number | null }>('SELECT MAX(statement_id) AS m FROM sim.statement_stats');
  lastStatement = Number(r.recordset[0]?.m ?? 0);
}

async function measure(label: string, table: string, strategy: 'cdc' | 'rowversion', rows: number, times: number) {
  let last: string | null = null;
  let next = 1_000_000 * (strategy === 'cdc' ? 1 : 2) + (label.includes('burst') ? 500_000 : 0);
  const first = await planOnce(table, strategy, null);
  last = first.window?.to ?? null;
  const agg = new Map<string, { n: number; ms: number }>();
  let total = 0;
  let backoffs = 0;
  let backoffMs = 0;
  for (let k = 0; k < times; k++) {
    await insert(table, next, rows, Math.min(rows, 100));
    next += rows;
    if (strategy === 'cdc')
      await s.admin.request().batch('EXEC sys.sp_cdc_scan @maxtrans = 100000, @maxscans = 10, @continuous = 0');
    calls.clear();
    const b0 = conn.throttle.snapshot();
    if (k === times - 1) await markStatements();
    const t0 = performance.now();
    const p = await planOnce(table, strategy, last);
    total += performance.now() - t0;
    const b1 = conn.throttle.snapshot();
    backoffs += b1.backoffs - b0.backoffs;
    backoffMs += b1.backoffWaitMs - b0.backoffWaitMs;
    last = p.window?.to ?? last;
    for (const [op, c] of calls) {
      const a = agg.get(op) ?? { n: 0, ms: 0 };
      a.n += c.n;
      a.ms += c.ms;
      agg.set(op, a);
    }
  }
  console.log(
    `\n${label}: ${times} plan(s) of ${rows} changes, ${(total / times).toFixed(1)} ms per plan; throttle back-offs ${backoffs}, ${(backoffMs / times).toFixed(0)} ms per plan waiting in them`,
  );
  const sorted = [...agg].sort((a, b) => b[1].ms - a[1].ms);
  for (const [op, a] of sorted)
    console.log(
      `  ${op.padEnd(28)} ${(a.n / times).toFixed(1).padStart(5)} calls  ${(a.ms / times).toFixed(1).padStart(8)} ms  ${((100 * a.ms) / total).toFixed(0).padStart(3)}%`,
    );
  // The last plan's statements as the simulator accounted them: rows read and seek/scan per table.
  const st = await s.admin.request().query(`SELECT statement_id, sql_text, table_name, access_kind, rows_read
    FROM sim.statement_stats WHERE session_id = ${spid} AND statement_id > ${lastStatement} ORDER BY statement_id`);
  for (const r of st.recordset as {
    statement_id: string;
    sql_text: string;
    table_name: string | null;
    access_kind: string | null;
    rows_read: string;
  }[]) {
    lastStatement = Math.max(lastStatement, Number(r.statement_id));
    if (Number(r.rows_read) > 50)
      console.log(
        `    rows read ${String(r.rows_read).padStart(7)} ${r.access_kind ?? ''} ${r.table_name ?? ''}: ${r.sql_text.replace(/\s+/g, ' ').slice(0, 90)}`,
      );
  }
}

await s.admin.request().batch(`CREATE TABLE dbo.plan_cdc (id int NOT NULL PRIMARY KEY, note varchar(20) NULL);
  EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'plan_cdc', @role_name = NULL;
  EXEC sys.sp_cdc_stop_job @job_type = N'capture';
  CREATE TABLE dbo.plan_rv (id int NOT NULL PRIMARY KEY, note varchar(20) NULL, rv rowversion NOT NULL);
  CREATE INDEX ix_plan_rv ON dbo.plan_rv (rv);`);
await insert('plan_cdc', 1, 10, 10);
await s.admin.request().batch('EXEC sys.sp_cdc_scan @maxtrans = 500, @maxscans = 10, @continuous = 0');
await insert('plan_rv', 1, 10, 10);

await measure('cdc small', 'plan_cdc', 'cdc', SMALL, PLANS);
await measure('cdc idle', 'plan_cdc', 'cdc', 0, PLANS).catch(() => undefined);
await measure('cdc burst', 'plan_cdc', 'cdc', BURST, 1);
await measure('rowversion small', 'plan_rv', 'rowversion', SMALL, PLANS);
await measure('rowversion burst', 'plan_rv', 'rowversion', BURST, 1);
await s.stop();
