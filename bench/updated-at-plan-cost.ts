/**
 * What planning a split updated_at window costs the simulator (issue 14, branch i14-dups): a backlog of `--rows`
 * rows stamped in one window, planned and split as before this branch (a TOP (1) probe, then the split's capped
 * count, the window's count and the cuts: bench/counted-split.ts `countedTarget` + `cutsEvery`) and as now (the plan's capped
 * count, then the cuts without the count: `UpdatedAtStrategy.planWindow` + `planSubRanges`), alternately
 * `--repeats` times in one run. The simulator runs in this process, and the plan returns a few rows, so the
 * process's CPU is the simulator's (the driver's share is small); rows read are the simulator's accounting
 * (`sim.statement_stats`). Both must give the same cuts when the window needs at most 32 sub-ranges.
 *
 *   node --import tsx bench/updated-at-plan-cost.ts [--rows 200000] [--sub-range-rows 100000] [--repeats 3]
 */
import { parseArgs } from 'node:util';
import sql from 'mssql';
import { discoverTable } from '../src/source/discovery.js';
import { UpdatedAtStrategy } from '../src/source/strategies/updated-at.js';
import { cutsEvery, type SplitQuery } from '../src/source/strategies/sub-range-queries.js';
import { countedTarget } from './counted-split.js';
import { ticksToText } from '../src/source/ticks.js';
import { startSourceSim } from '../test/support/source-sim.js';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '200000' },
    'sub-range-rows': { type: 'string', default: '100000' },
    repeats: { type: 'string', default: '3' },
  },
});
const ROWS = Number(args.rows);
const THRESHOLD = Number(args['sub-range-rows']);

const s = await startSourceSim();
await s.admin.request().batch(`CREATE TABLE dbo.bench_ua (id int NOT NULL PRIMARY KEY, note varchar(40) NULL,
    updated_at datetime2(7) NOT NULL);
  CREATE INDEX IX_bench_ua_updated_at ON dbo.bench_ua (updated_at);`);
const conn = await s.connect({ poolMax: 1 });
const spid = Number((await conn.query<{ id: number }>('bench.spid', 'SELECT @@SPID AS id'))[0]!.id);
const first = await new UpdatedAtStrategy(
  conn,
  await discoverTable(conn, 'dbo', 'bench_ua', { strategy: 'updated_at' }),
  'updated_at',
  { lookbackMs: 0, safetyLagMs: 0 },
).planWindow(null);
await new Promise((r) => setTimeout(r, 5));
for (let i = 0; i < ROWS; i += 1000) {
  const ids = Array.from({ length: Math.min(1000, ROWS - i) }, (_v, k) => i + k);
  await s.admin
    .request()
    .batch(`INSERT INTO dbo.bench_ua VALUES ${ids.map((id) => `(${id}, 'note ${id}', SYSUTCDATETIME())`).join(', ')}`);
}
const d = await discoverTable(conn, 'dbo', 'bench_ua', { strategy: 'updated_at' });

async function rowsReadSince(mark: number): Promise<number> {
  const r = await s.admin.request().query<{ n: number | string | null }>(
    `SELECT SUM(rows_read) AS n FROM sim.statement_stats
      WHERE session_id = ${spid} AND statement_id > ${mark} AND table_name = 'bench_ua'`,
  );
  return Number(r.recordset[0]?.n ?? 0);
}
async function lastStatement(): Promise<number> {
  const r = await s.admin
    .request()
    .query<{ m: number | null }>('SELECT MAX(statement_id) AS m FROM sim.statement_stats');
  return Number(r.recordset[0]?.m ?? 0);
}

/** Before this branch: the TOP (1) probe, then the capped count, the window's count and the cuts. */
async function before(): Promise<unknown[] | undefined> {
  const st = new UpdatedAtStrategy(conn, d, 'updated_at', { lookbackMs: 0, safetyLagMs: 0 });
  const w = await st.planWindow(first.to);
  const c = '[updated_at]';
  const params = [
    { name: 'from', type: sql.VarChar(27), value: ticksToText(BigInt(first.to.slice(0, 20))) },
    { name: 'to', type: sql.VarChar(27), value: ticksToText(BigInt(w.to.slice(0, 20))) },
  ];
  const q: SplitQuery = (op, text) => conn.query(op, text, params, { sizeDependent: true });
  const range = {
    op: 'updated_at',
    from: `FROM [dbo].[bench_ua] WHERE ${c} > CAST(@from AS datetime2(7)) AND ${c} <= CAST(@to AS datetime2(7))`,
    orderBy: c,
    cutValue: `CONVERT(varchar(27), CAST(${c} AS datetime2(7)), 121)`,
  };
  const target = await countedTarget(q, range, THRESHOLD, 32);
  return target === undefined ? undefined : cutsEvery(q, range, target);
}

/** This branch: the plan's capped count, then the cuts without the window's count. */
async function after(): Promise<unknown[] | undefined> {
  const st = new UpdatedAtStrategy(conn, d, 'updated_at', { lookbackMs: 0, safetyLagMs: 0 });
  const w = await st.planWindow(first.to, { rowsPerSubRange: THRESHOLD });
  return (await st.planSubRanges(w, THRESHOLD, 32))?.slice(0, -1).map((r) => r.to);
}

const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const sums = { before: { cpu: 0, rows: 0, cuts: 0 }, after: { cpu: 0, rows: 0, cuts: 0 } };
for (let k = 0; k < Number(args.repeats); k++) {
  for (const [name, f] of [
    ['before', before],
    ['after', after],
  ] as const) {
    const mark = await lastStatement();
    const c0 = cpu();
    const cuts = await f();
    const ms = cpu() - c0;
    const rows = await rowsReadSince(mark);
    sums[name].cpu += ms;
    sums[name].rows += rows;
    sums[name].cuts = cuts?.length ?? 0;
    console.log(`${name}: ${ms.toFixed(0)} ms CPU, ${rows} rows read, ${cuts?.length ?? 0} cuts`);
  }
}
const n = Number(args.repeats);
console.log(
  `${ROWS} rows, subRangeRows ${THRESHOLD}: before ${(sums.before.cpu / n).toFixed(0)} ms CPU / ${sums.before.rows / n} rows read; ` +
    `after ${(sums.after.cpu / n).toFixed(0)} ms CPU / ${sums.after.rows / n} rows read; ratio after/before CPU ${(sums.after.cpu / sums.before.cpu).toFixed(2)}`,
);
await conn.close();
await s.stop();
