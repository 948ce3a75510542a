/**
 * Splitting a planned window into sub-ranges (issue 14) against the simulator over TCP: the sub-ranges read one
 * by one yield exactly the window's changes, each once, in order; CDC cuts only at transaction ends; a window
 * at or below the threshold is not split.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { discoverTable } from '../../../src/source/discovery.js';
import { CdcStrategy } from '../../../src/source/strategies/cdc.js';
import { RowversionStrategy } from '../../../src/source/strategies/rowversion.js';
import type { CaptureStrategy, SourceWindow } from '../../../src/source/index.js';
import type { SourceConnection } from '../../../src/source/connection.js';
import { coversWindow } from '../../../src/domain/sub-ranges.js';
import { collect, startSourceSim, type SourceSim } from '../../support/source-sim.js';

let s: SourceSim;
let conn: SourceConnection;

before(async () => {
  s = await startSourceSim();
  await s.admin.request().batch('EXEC sys.sp_cdc_enable_db');
  conn = await s.connect();
});
after(() => s?.stop());

/** `n` rows in transactions of `perTx` (ids from `from`). */
async function insert(table: string, from: number, n: number, perTx: number): Promise<void> {
  for (let i = 0; i < n; i += perTx) {
    const ids = Array.from({ length: Math.min(perTx, n - i) }, (_v, k) => from + i + k);
    await s.admin
      .request()
      .batch(`INSERT INTO dbo.${table} (id, note) VALUES ${ids.map((id) => `(${id}, 'n')`).join(', ')}`);
  }
}

/** Reads every sub-range and checks they add up to the window read whole. */
async function assertSplitReadsTheWindow(
  st: CaptureStrategy,
  w: SourceWindow,
  threshold: number,
  minRanges: number,
  maxRanges = 32,
) {
  const ranges = await st.planSubRanges!(w, threshold, maxRanges);
  assert.ok(ranges, 'the window is split');
  assert.ok(ranges.length >= minRanges, `${ranges.length} sub-ranges`);
  assert.ok(coversWindow(w.from, w.to, ranges), 'contiguous, from the window start to its end');
  const whole = (await collect(st, w)).map((r) => r.pos);
  const parts: string[][] = [];
  for (const r of ranges) parts.push((await collect(st, { ...w, from: r.from, to: r.to })).map((x) => x.pos));
  assert.deepEqual(parts.flat(), whole, 'the sub-ranges read the window, each change once, in order');
  return { ranges, parts };
}

test('cdc: a 5,000-change backlog splits at transaction ends into sub-ranges that read exactly the window', async () => {
  await s.admin.request().batch(`CREATE TABLE dbo.split_cdc (id int NOT NULL PRIMARY KEY, note varchar(20) NULL);
    EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'split_cdc', @role_name = NULL;
    EXEC sys.sp_cdc_stop_job @job_type = N'capture';`);
  const st = new CdcStrategy(conn, await discoverTable(conn, 'dbo', 'split_cdc'));
  await insert('split_cdc', 1, 10, 10);
  await s.admin.request().batch('EXEC sys.sp_cdc_scan @maxtrans = 500, @maxscans = 10, @continuous = 0');
  const first = await st.planWindow(null);
  // Transactions of 70 rows: no cut of 1,000 falls on a transaction's end, so each cut moves to one.
  await insert('split_cdc', 100, 5000, 70);
  await s.admin.request().batch('EXEC sys.sp_cdc_scan @maxtrans = 5000, @maxscans = 10, @continuous = 0');
  const w = await st.planWindow(first.to);
  assert.equal(w.empty, false);
  assert.equal(await st.planSubRanges(w, 5000, 32), undefined, 'at the threshold: read whole');
  const { parts } = await assertSplitReadsTheWindow(st, w, 1000, 4);
  // Every transaction (LSN: the first 20 hex digits of a position) lies in one sub-range.
  const lsnPart = new Map<string, number>();
  parts.forEach((p, k) =>
    p.forEach((pos) => {
      const lsn = pos.slice(0, 20);
      assert.equal(lsnPart.get(lsn) ?? k, k, `transaction ${lsn} split between sub-ranges`);
      lsnPart.set(lsn, k);
    }),
  );
  // Each cut moves to the end of the transaction of every 1,000th change: within a transaction of the target.
  const sizes = parts.slice(0, -1).map((p) => p.length);
  assert.ok(
    sizes.every((n) => Math.abs(n - 1000) < 70),
    `sizes ${sizes.join(', ')}`,
  );
});

test('rowversion: a 3,000-row window splits into sub-ranges that read exactly the window', async () => {
  await s.admin
    .request()
    .batch('CREATE TABLE dbo.split_rv (id int NOT NULL PRIMARY KEY, note varchar(20) NULL, rv rowversion)');
  const st = new RowversionStrategy(conn, await discoverTable(conn, 'dbo', 'split_rv'), 'rv');
  await insert('split_rv', 1, 3000, 500);
  const w = await st.planWindow(null);
  assert.equal(await st.planSubRanges(w, 3000, 32), undefined, 'at the threshold: read whole');
  const { parts } = await assertSplitReadsTheWindow(st, w, 1000, 3);
  assert.deepEqual(
    parts.map((p) => p.length),
    [1000, 1000, 1000],
  );
  // A window needing more than the most sub-ranges (30 of 100 rows, at most 8): every k-th cut is kept, so each
  // sub-range holds k × 100 rows, the last one the rest.
  const capped = await assertSplitReadsTheWindow(st, w, 100, 4, 8);
  assert.ok(capped.ranges.length <= 8, `${capped.ranges.length} sub-ranges (at most 8)`);
  assert.deepEqual(
    capped.parts.map((p) => p.length),
    [400, 400, 400, 400, 400, 400, 400, 200],
  );
});
