/**
 * What planning a split rowversion, Change Tracking or identity window costs the simulator (issue 14, branches
 * i14-tidy2 and i14-tidy3 for identity): a backlog of `--rows` inserted rows, one window for each strategy, planned and split as before this branch (the
 * split's capped count — for rowversion the plan's, passed on — the window's count, then the cuts at every
 * `target`-th row: bench/counted-split.ts `countedTarget` + `cutsEvery`) and as now (`planWindow` + `planSubRanges`:
 * the cuts at every `subRangeRows`-th row, without the window's count; identity: its one key scan, which before
 * ran after the capped count and the window's count), alternately `--repeats` times in one run.
 * The simulator runs in this process and the split returns a few rows, so the process's CPU is the simulator's
 * (the driver's share is small); statements and rows read are the simulator's accounting (`sim.statement_stats`).
 * Before and after must give the same cuts when the window needs at most 32 sub-ranges.
 *
 *   node --import tsx bench/split-plan-cost.ts [--rows 200000] [--sub-range-rows 100000] [--repeats 3]
 */
import { parseArgs } from 'node:util';
import sql from 'mssql';
import { discoverTable } from '../src/source/discovery.js';
import { RowversionStrategy } from '../src/source/strategies/rowversion.js';
import { ChangeTrackingStrategy } from '../src/source/strategies/change-tracking.js';
import { formatIdentityPosition, IdentityStrategy, parseIdentityPosition } from '../src/source/strategies/identity.js';
import { cutsEvery, type SplitQuery } from '../src/source/strategies/sub-range-queries.js';
import { countedTarget } from './counted-split.js';
import { pad20, rowversionAdd, rowversionPosition } from '../src/source/positions.js';
import { subRangesAt } from '../src/domain/sub-ranges.js';
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
const MAX = 32;

const s = await startSourceSim();
await s.admin.request()
  .batch(`ALTER DATABASE Claims SET CHANGE_TRACKING = ON (CHANGE_RETENTION = 2 DAYS, AUTO_CLEANUP = ON);
  ALTER DATABASE Claims SET ALLOW_SNAPSHOT_ISOLATION ON;
  CREATE TABLE dbo.bench_split (id int NOT NULL PRIMARY KEY, note varchar(40) NULL, rv rowversion NOT NULL);
  CREATE INDEX IX_bench_split_rv ON dbo.bench_split (rv);
  ALTER TABLE dbo.bench_split ENABLE CHANGE_TRACKING;
  CREATE TABLE dbo.bench_split_id (id int IDENTITY(1,1) PRIMARY KEY, note varchar(40) NULL);`);
const conn = await s.connect({ poolMax: 1 });
const d = await discoverTable(conn, 'dbo', 'bench_split');
const rvFirst = await new RowversionStrategy(conn, d, 'rv').planWindow(null);
const ctFirst = await new ChangeTrackingStrategy(conn, d).planWindow(null);
for (let i = 0; i < ROWS; i += 1000) {
  const ids = Array.from({ length: Math.min(1000, ROWS - i) }, (_v, k) => i + k);
  await s.admin.request()
    .batch(`INSERT INTO dbo.bench_split (id, note) VALUES ${ids.map((id) => `(${id}, 'note ${id}')`).join(', ')}
      INSERT INTO dbo.bench_split_id (note) VALUES ${ids.map((id) => `('note ${id}')`).join(', ')}`);
}
const di = await discoverTable(conn, 'dbo', 'bench_split_id');
const idFrom = formatIdentityPosition({ highWater: 0n, gaps: [] });

// The statements since a mark, on any session but this accounting's own: the pool may have replaced its
// connection while the backlog was inserted (idle), so the planning session is not known up front.
async function lastStatement(): Promise<number> {
  const r = await s.admin
    .request()
    .query<{ m: number | null }>('SELECT MAX(statement_id) AS m FROM sim.statement_stats');
  return Number(r.recordset[0]?.m ?? 0);
}
async function accountedSince(mark: number): Promise<{ statements: number; rowsRead: number }> {
  const r = await s.admin.request().query<{ k: number; n: number | string | null }>(
    `SELECT COUNT(DISTINCT statement_id) AS k, SUM(rows_read) AS n FROM sim.statement_stats
      WHERE statement_id > ${mark} AND sql_text NOT LIKE '%sim.statement_stats%'`,
  );
  return { statements: Number(r.recordset[0]?.k ?? 0), rowsRead: Number(r.recordset[0]?.n ?? 0) };
}

/** The count's cuts, as the split read them before this branch. */
async function countedCuts(q: SplitQuery, from: string, orderBy: string, probed?: number) {
  const range = { op: 'bench', from, orderBy };
  const target = await countedTarget(q, range, THRESHOLD, MAX, probed);
  return target === undefined ? [] : cutsEvery(q, range, target);
}

const cases = {
  rowversion: {
    async before(): Promise<number> {
      const st = new RowversionStrategy(conn, d, 'rv');
      const w = await st.planWindow(rvFirst.to, { rowsPerSubRange: THRESHOLD });
      const params = [
        { name: 'from', type: sql.VarBinary(8), value: rowversionAdd(rvFirst.to, 0n) },
        { name: 'to', type: sql.VarBinary(8), value: rowversionAdd(w.to, 0n) },
      ];
      const q: SplitQuery = (op, text) => conn.query(op, text, params, { sizeDependent: true });
      // The plan counted the window capped at THRESHOLD + 1 and passed that count on to the split.
      const where = 'FROM [dbo].[bench_split] WHERE [rv] > @from AND [rv] <= @to';
      const cuts = await countedCuts(q, where, '[rv]', THRESHOLD + 1);
      return cutCount(
        subRangesAt(
          w.from,
          w.to,
          cuts.map((v) => rowversionPosition(v as Buffer)),
          MAX,
        ),
      );
    },
    async after(): Promise<number> {
      const st = new RowversionStrategy(conn, d, 'rv');
      const w = await st.planWindow(rvFirst.to, { rowsPerSubRange: THRESHOLD });
      return cutCount(await st.planSubRanges(w, THRESHOLD, MAX));
    },
  },
  change_tracking: {
    async before(): Promise<number> {
      const st = new ChangeTrackingStrategy(conn, d);
      const w = await st.planWindow(ctFirst.to);
      const params = [
        { name: 'from', type: sql.BigInt, value: BigInt(ctFirst.to).toString() },
        { name: 'to', type: sql.BigInt, value: BigInt(w.to).toString() },
      ];
      // In one SNAPSHOT transaction with the version check first, as the split runs.
      const cuts = await conn.inSnapshot('bench.ct_split', async (tx) => {
        await conn.query(
          'bench.ct_versions',
          "SELECT CHANGE_TRACKING_MIN_VALID_VERSION(OBJECT_ID(N'[dbo].[bench_split]')) AS mn",
          [],
          { transaction: tx },
        );
        const q: SplitQuery = (op, text) => conn.query(op, text, params, { transaction: tx, sizeDependent: true });
        const where = 'FROM CHANGETABLE(CHANGES [dbo].[bench_split], @from) AS c WHERE c.SYS_CHANGE_VERSION <= @to';
        return countedCuts(q, where, 'c.SYS_CHANGE_VERSION');
      });
      return cutCount(
        subRangesAt(
          w.from,
          w.to,
          cuts.map((v) => pad20(BigInt(v as string | number))),
          MAX,
        ),
      );
    },
    async after(): Promise<number> {
      const st = new ChangeTrackingStrategy(conn, d);
      const w = await st.planWindow(ctFirst.to);
      return cutCount(await st.planSubRanges(w, THRESHOLD, MAX));
    },
  },
  identity: {
    async before(): Promise<number> {
      const st = new IdentityStrategy(conn, di, 'id');
      const w = await st.planWindow(idFrom);
      const top = parseIdentityPosition(w.to).highWater;
      const params = [
        { name: 'hw', type: sql.BigInt, value: '0' },
        { name: 'top', type: sql.BigInt, value: top.toString() },
      ];
      // In one SNAPSHOT transaction, as the split runs: the capped count, the count, then the key scan at every
      // target-th id (the gaps it also found cost no statement).
      const cuts = await conn.inSnapshot('bench.identity_split', async (tx) => {
        const opts = { transaction: tx, sizeDependent: true };
        const q: SplitQuery = (op, text) => conn.query(op, text, params, opts);
        const where = 'FROM [dbo].[bench_split_id] WHERE [id] > @hw AND [id] <= @top';
        const target = await countedTarget(q, { op: 'bench', from: where, orderBy: '[id]' }, THRESHOLD, MAX);
        const out: bigint[] = [];
        if (target === undefined) return out;
        let n = 0;
        for await (const b of conn.stream(
          'bench.identity_cuts',
          `SELECT [id] AS id FROM [dbo].[bench_split_id] WHERE ([id] > @hw AND [id] <= @top) ORDER BY [id] OPTION (MAXDOP 1)`,
          params,
          { ...opts, batchRows: 10_000 },
        ))
          for (const r of b.rows) {
            const id = BigInt(r[0] as number);
            if (++n % target === 0 && id < top) out.push(id);
          }
        return out;
      });
      return cutCount(subRangesAt(idFrom, w.to, cuts.map(pad20), MAX));
    },
    async after(): Promise<number> {
      const st = new IdentityStrategy(conn, di, 'id');
      const w = await st.planWindow(idFrom);
      return cutCount(await st.planSubRanges(w, THRESHOLD, MAX));
    },
  },
} satisfies Record<string, { before(): Promise<number>; after(): Promise<number> }>;

function cutCount(ranges: readonly { to: string }[] | undefined): number {
  return ranges ? ranges.length - 1 : 0;
}

const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const n = Number(args.repeats);
for (const [name, c] of Object.entries(cases)) {
  const sums = {
    before: { cpu: 0, rows: 0, statements: 0, cuts: 0 },
    after: { cpu: 0, rows: 0, statements: 0, cuts: 0 },
  };
  for (let k = 0; k < n; k++) {
    for (const phase of ['before', 'after'] as const) {
      const mark = await lastStatement();
      const c0 = cpu();
      const cuts = await c[phase]();
      const ms = cpu() - c0;
      const acct = await accountedSince(mark);
      sums[phase].cpu += ms;
      sums[phase].rows += acct.rowsRead;
      sums[phase].statements = acct.statements;
      sums[phase].cuts = cuts;
      console.log(
        `${name} ${phase}: ${ms.toFixed(0)} ms CPU, ${acct.statements} statements, ${acct.rowsRead} rows read, ${cuts} cuts`,
      );
    }
  }
  const line = (p: 'before' | 'after') =>
    `${p} ${(sums[p].cpu / n).toFixed(0)} ms CPU / ${sums[p].statements} statements / ${sums[p].rows / n} rows read / ${sums[p].cuts} cuts`;
  console.log(
    `${name}, ${ROWS} rows, subRangeRows ${THRESHOLD} (mean of ${n}): ${line('before')}; ${line('after')}; ` +
      `ratio after/before CPU ${(sums.after.cpu / sums.before.cpu).toFixed(2)}`,
  );
}
await conn.close();
await s.stop();
