/**
 * What an updated_at window's plan and split ask the source (issue 14, "Sub-ranges for updated_at and identity"),
 * counted by the simulator's statement accounting (`sim.statement_stats`) for the extractor's session: the plan's
 * probe for rows is the split's capped count, and the split reads the cuts without counting the whole window — so
 * a small window costs one query of the table, a split one two (before: a TOP (1) probe, the capped count, the
 * window's count and the cuts), and the sub-ranges still cover the window.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { discoverTable } from '../../../src/source/discovery.js';
import { UpdatedAtStrategy } from '../../../src/source/strategies/updated-at.js';
import type { SourceConnection } from '../../../src/source/connection.js';
import { planWindow, type PlannedWindow } from '../../../src/capture/window.js';
import type { TableContext } from '../../../src/capture/table-context.js';
import { coversWindow } from '../../../src/domain/sub-ranges.js';
import { startSourceSim, type SourceSim } from '../../support/source-sim.js';

let s: SourceSim;
let conn: SourceConnection;
let spid: number;

before(async () => {
  s = await startSourceSim();
  await s.admin.request().batch(`CREATE TABLE dbo.plan_ua (id int NOT NULL PRIMARY KEY, note varchar(20) NULL,
      updated_at datetime2(7) NOT NULL);
    CREATE INDEX ix_plan_ua ON dbo.plan_ua (updated_at);`);
  conn = await s.connect({ poolMax: 1 });
  spid = Number((await conn.query<{ id: number }>('test.spid', 'SELECT @@SPID AS id'))[0]!.id);
});
after(() => s?.stop());

/** `n` rows from id `from`, 20 to a statement (each statement's rows share one timestamp). */
async function insert(from: number, n: number): Promise<void> {
  for (let i = 0; i < n; i += 20) {
    const ids = Array.from({ length: Math.min(20, n - i) }, (_v, k) => from + i + k);
    await s.admin
      .request()
      .batch(
        `INSERT INTO dbo.plan_ua (id, note, updated_at) VALUES ${ids.map((id) => `(${id}, 'n', SYSUTCDATETIME())`).join(', ')}`,
      );
  }
}

/** One plan as the planWindow activity runs it (fresh discovery, a new strategy) and the table's statements. */
async function planOnce(last: string | null, subRangeRows: number, maxSubRanges?: number) {
  const mark = Number(
    (await s.admin.request().query<{ m: number | null }>('SELECT MAX(statement_id) AS m FROM sim.statement_stats'))
      .recordset[0]?.m ?? 0,
  );
  const d = await discoverTable(conn, 'dbo', 'plan_ua', { strategy: 'updated_at' });
  const st = new UpdatedAtStrategy(conn, d, 'updated_at', { lookbackMs: 0, safetyLagMs: 0 });
  if (maxSubRanges !== undefined) {
    // The activity's fan-out bound is a constant (32); a smaller one shows how a window past it is cut.
    const split = st.planSubRanges.bind(st);
    st.planSubRanges = (w, rows) => split(w, rows, maxSubRanges);
  }
  const ctx = { strategy: st, config: { limits: { subRangeRows } } } as unknown as TableContext;
  const plan: PlannedWindow = await planWindow(ctx, last, 1);
  const r = await s.admin.request().query<{ statement_id: number; n: number | string }>(
    `SELECT statement_id, SUM(rows_read) AS n FROM sim.statement_stats
      WHERE session_id = ${spid} AND statement_id > ${mark} AND table_name = 'plan_ua' GROUP BY statement_id`,
  );
  return {
    plan,
    tableQueries: r.recordset.length,
    tableRowsRead: r.recordset.reduce((sum, x) => sum + Number(x.n), 0),
  };
}

test('updated_at: the plan counts a small window in one query; a split reads the table twice, not four times', async () => {
  await insert(1, 10);
  const first = await planOnce(null, 1000);
  assert.ok(first.plan.window, 'the first window');

  await insert(100, 100);
  const small = await planOnce(first.plan.window.to, 1000);
  assert.ok(small.plan.window, 'the 100 rows make a window');
  assert.equal(small.plan.window.subRanges, undefined, 'at most subRangeRows: read whole');
  // Before: a TOP (1) probe for a row, then the split's capped count.
  assert.equal(small.tableQueries, 1, 'one query of the table per plan');

  await insert(1000, 3000);
  const large = await planOnce(small.plan.window.to, 1000);
  const w = large.plan.window;
  assert.ok(w?.subRanges, 'a window above subRangeRows is split');
  assert.ok(w.subRanges.length >= 3, `${w.subRanges.length} sub-ranges`);
  assert.ok(coversWindow(w.from, w.to, w.subRanges), 'the sub-ranges cover the window');
  // Before: the probe, the capped count, the window's count and the cuts (about three scans of the window).
  assert.equal(large.tableQueries, 2, 'the capped count and the cuts');
  assert.ok(large.tableRowsRead <= 1001 + 3000, `${large.tableRowsRead} rows read: at most the cap and one scan`);

  const none = await planOnce(w.to, 1000);
  assert.equal(none.plan.window, null, 'nothing new: no window');
});

test('updated_at: a window needing more than the most sub-ranges is cut into at most that many', async () => {
  await insert(10_000, 3000);
  const base = await planOnce(null, 100_000);
  assert.ok(base.plan.window);
  await insert(20_000, 3000);
  const big = await planOnce(base.plan.window.to, 100, 8);
  const w = big.plan.window;
  assert.ok(w?.subRanges, 'split');
  assert.ok(w.subRanges.length <= 8 && w.subRanges.length >= 4, `${w.subRanges.length} sub-ranges (at most 8)`);
  assert.ok(coversWindow(w.from, w.to, w.subRanges), 'the sub-ranges cover the window');
});
