/**
 * What one window's plan asks the source (issue 14, "The cost of planWindow"), counted by the simulator's own
 * statement accounting (`sim.statement_stats`) for the extractor's session: the plan's probe for changes is the
 * split's capped count, so a small window is counted once and not split, and the split of a large window re-reads
 * neither the capture instances nor the window's first LSN — while a large window is still split into sub-ranges
 * that cover it.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { discoverTable } from '../../../src/source/discovery.js';
import { CdcStrategy } from '../../../src/source/strategies/cdc.js';
import { RowversionStrategy } from '../../../src/source/strategies/rowversion.js';
import type { CaptureStrategy } from '../../../src/source/index.js';
import { planWindow, type PlannedWindow } from '../../../src/capture/window.js';
import type { TableContext } from '../../../src/capture/table-context.js';
import { coversWindow } from '../../../src/domain/sub-ranges.js';
import sql from 'mssql';
import { buildPoolConfig, SourceConnection } from '../../../src/source/connection.js';
import { createSecretProvider } from '../../../src/config/secret-provider.js';
import { simSourceConfig, startSourceSim, type SourceSim } from '../../support/source-sim.js';

const SUB_RANGE_ROWS = 1000;
let s: SourceSim;
let conn: SourceConnection;
let spid: number;

before(async () => {
  s = await startSourceSim();
  await s.admin.request().batch('EXEC sys.sp_cdc_enable_db');
  conn = await s.connect({ poolMax: 1 });
  spid = Number((await conn.query<{ id: number }>('test.spid', 'SELECT @@SPID AS id'))[0]!.id);
});
after(() => s?.stop());

async function insert(table: string, from: number, n: number, perTx: number): Promise<void> {
  for (let i = 0; i < n; i += perTx) {
    const ids = Array.from({ length: Math.min(perTx, n - i) }, (_v, k) => from + i + k);
    await s.admin
      .request()
      .batch(`INSERT INTO dbo.${table} (id, note) VALUES ${ids.map((id) => `(${id}, 'n')`).join(', ')}`);
  }
}

async function scan(): Promise<void> {
  await s.admin.request().batch('EXEC sys.sp_cdc_scan @maxtrans = 5000, @maxscans = 10, @continuous = 0');
}

/** One plan as the planWindow activity runs it (fresh discovery, a new strategy) and the statements it ran. */
async function planOnce(table: string, kind: 'cdc' | 'rowversion', last: string | null) {
  const mark = Number(
    (await s.admin.request().query<{ m: number | null }>('SELECT MAX(statement_id) AS m FROM sim.statement_stats'))
      .recordset[0]?.m ?? 0,
  );
  const d = await discoverTable(conn, 'dbo', table, { strategy: kind });
  const st: CaptureStrategy = kind === 'cdc' ? new CdcStrategy(conn, d) : new RowversionStrategy(conn, d, 'rv');
  const ctx = { strategy: st, config: { limits: { subRangeRows: SUB_RANGE_ROWS } } } as unknown as TableContext;
  const plan: PlannedWindow = await planWindow(ctx, last, 1);
  const r = await s.admin.request().query(
    `SELECT DISTINCT statement_id, sql_text FROM sim.statement_stats
      WHERE session_id = ${spid} AND statement_id > ${mark} ORDER BY statement_id`,
  );
  const texts = (r.recordset as { sql_text: string }[]).map((x) => x.sql_text);
  const reads = await s.admin.request().query<{ n: number | string | null }>(
    `SELECT SUM(rows_read) AS n FROM sim.statement_stats
      WHERE session_id = ${spid} AND statement_id > ${mark} AND table_name = '${table}'`,
  );
  const tableRowsRead = Number(reads.recordset[0]?.n ?? 0);
  const matching = (re: RegExp) => texts.filter((t) => re.test(t)).length;
  return { plan, statements: texts.length, matching, tableRowsRead };
}

test('cdc: a small window is probed and counted by one query, not split; a large one is still split', async () => {
  await s.admin.request().batch(`CREATE TABLE dbo.plan_cdc (id int NOT NULL PRIMARY KEY, note varchar(20) NULL);
    EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'plan_cdc', @role_name = NULL;
    EXEC sys.sp_cdc_stop_job @job_type = N'capture';`);
  await insert('plan_cdc', 1, 10, 10);
  await scan();
  const first = await planOnce('plan_cdc', 'cdc', null);
  assert.ok(first.plan.window, 'the first window');

  await insert('plan_cdc', 100, 100, 20);
  await scan();
  const small = await planOnce('plan_cdc', 'cdc', first.plan.window.to);
  assert.ok(small.plan.window && !small.plan.window.idle, 'the 100 changes make a window');
  assert.equal(small.plan.window.subRanges, undefined, 'at most subRangeRows: read whole');
  // Before: a TOP (1) probe for changes, then the split's capped count — two reads of the change function.
  assert.equal(small.matching(/fn_cdc_get_all_changes/i), 1, 'one query of the change function per plan');
  // Before: the max LSN and the min LSNs were two queries, and the split re-read the capture instances and the
  // window's first LSN (the simulator does not account the instances' EXEC; the LSN query shows the re-read).
  assert.equal(small.matching(/fn_cdc_get_min_lsn|fn_cdc_increment_lsn/i), 1, 'one query for the bounds');

  await insert('plan_cdc', 1000, 3000, 50);
  await scan();
  const large = await planOnce('plan_cdc', 'cdc', small.plan.window.to);
  const w = large.plan.window;
  assert.ok(w?.subRanges, 'a window above subRangeRows is split');
  assert.ok(w.subRanges.length >= 3, `${w.subRanges.length} sub-ranges`);
  assert.ok(coversWindow(w.from, w.to, w.subRanges), 'the sub-ranges cover the window');
  // The capped count, the split's full count and its cuts.
  assert.equal(large.matching(/fn_cdc_get_all_changes/i), 3, 'count, total and cuts');

  const idle = await planOnce('plan_cdc', 'cdc', w.to);
  assert.ok(idle.plan.window?.idle || idle.plan.window === null, 'nothing new: an idle (or empty) window');
});

test('rowversion: a small window is probed and counted by one query, not split; a large one is still split', async () => {
  await s.admin.request().batch(`CREATE TABLE dbo.plan_rv (id int NOT NULL PRIMARY KEY, note varchar(20) NULL,
      rv rowversion NOT NULL);
    CREATE INDEX ix_plan_rv ON dbo.plan_rv (rv);`);
  await insert('plan_rv', 1, 10, 10);
  const first = await planOnce('plan_rv', 'rowversion', null);
  assert.ok(first.plan.window, 'the first window');

  await insert('plan_rv', 100, 100, 20);
  const small = await planOnce('plan_rv', 'rowversion', first.plan.window.to);
  assert.ok(small.plan.window, 'the 100 changes make a window');
  assert.equal(small.plan.window.subRanges, undefined, 'at most subRangeRows: read whole');
  // Before: a TOP (1) seek for any version, then the split's capped count.
  assert.equal(small.matching(/FROM \[dbo\]\.\[plan_rv\]\s+WHERE/i), 1, 'one query of the table per plan');
  // 100 new versions since the last plan, within the threshold: a TOP (1) seek, not a count of the window.
  assert.equal(small.tableRowsRead, 1, 'the plan reads one row of the table');

  await insert('plan_rv', 1000, 3000, 50);
  const large = await planOnce('plan_rv', 'rowversion', small.plan.window.to);
  const w = large.plan.window;
  assert.ok(w?.subRanges, 'a window above subRangeRows is split');
  assert.ok(w.subRanges.length >= 3, `${w.subRanges.length} sub-ranges`);
  assert.ok(coversWindow(w.from, w.to, w.subRanges), 'the sub-ranges cover the window');
  // Before (branch i14-tidy2): the plan's capped count, the split's count of the window and its cuts.
  assert.equal(large.matching(/FROM \[dbo\]\.\[plan_rv\]\s+WHERE/i), 2, 'the capped count and the cuts');
  assert.ok(large.tableRowsRead <= 1001 + 3000, `${large.tableRowsRead} rows read: at most the cap and one scan`);

  const none = await planOnce('plan_rv', 'rowversion', w.to);
  assert.equal(none.plan.window, null, 'nothing new: no window');
});

test("the source pool hands out a connection without a 'SELECT 1' round trip before each query", async () => {
  const cfg = await buildPoolConfig(simSourceConfig(s.sim), { secrets: createSecretProvider() });
  const pooled = new SourceConnection(await new sql.ConnectionPool(cfg).connect(), {
    maxConcurrentQueries: 1,
    maxRowsPerSecond: 1_000_000,
  });
  try {
    const id = Number((await pooled.query<{ id: number }>('test.spid', 'SELECT @@SPID AS id'))[0]!.id);
    for (let k = 0; k < 3; k++) await pooled.query('test.plan', 'SELECT sys.fn_cdc_get_max_lsn() AS mx');
    const r = await s.admin
      .request()
      .query<{ sql_text: string }>(
        `SELECT DISTINCT statement_id, sql_text FROM sim.statement_stats WHERE session_id = ${id}`,
      );
    const texts = r.recordset.map((x) => x.sql_text.trim().replace(/;$/, ''));
    // Before: mssql's default validation ran 'SELECT 1' each time the pool handed the connection out.
    assert.equal(texts.filter((t) => /^SELECT 1$/i.test(t)).length, 0, `statements: ${texts.join(' | ')}`);
    assert.equal(texts.filter((t) => /fn_cdc_get_max_lsn/i.test(t)).length, 3, 'the three queries ran');
  } finally {
    await pooled.close();
  }
});
