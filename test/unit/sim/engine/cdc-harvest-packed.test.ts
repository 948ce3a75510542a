/**
 * The capture job's harvest packs its change rows as it writes them (sim/engine/table-store.ts
 * `insertPackedRow`): a scan that writes thousands of change rows in its one transaction holds a record per row
 * until it commits, not an array of values per row (the rows and, in its change list, their after-images) —
 * arrays that outlived the collector's scavenges and were promoted. Measured at the harvest's commit, where its
 * whole change list is still held, and the values must stay exact: what the change table holds and what commit
 * listeners are handed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SqlValue } from '../../../../sim/engine/api.js';
import { cdcAdmin } from '../../../../sim/engine/cdc/index.js';
import { ROW, WIDE, cdcEngine, gc } from './cdc-wide-table.js';

async function wideWithCdc() {
  const { e, x } = cdcEngine();
  await x(WIDE);
  await x('EXEC sys.sp_cdc_enable_db');
  await x("EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'W', @role_name = NULL");
  const ct = e.admin.database('C')?.schema('cdc')?.tables.get('dbo_w_ct');
  assert.ok(ct);
  return { e, x, ct };
}

test("a harvest holds a few hundred heap bytes per change row until it commits, not the rows' values", async () => {
  const { e, x, ct } = await wideWithCdc();
  const n = 20_000;
  for (let i = 0; i < n; i += 500)
    await x(
      `INSERT INTO dbo.W VALUES ${Array.from({ length: 500 }, (_, k) => ROW(i + k)).join(',')}; ` +
        `UPDATE dbo.W SET n = n + 1, s = 'x' WHERE id >= ${i} AND id < ${i + 500}`,
    );
  let atCommit: number | undefined;
  let harvested = 0;
  const off = e.admin.onCommit('C', (t) => {
    harvested = t.changes.filter((c) => c.tableObjectId === ct.objectId).length;
    if (harvested === 0) return;
    // Everything the harvest's transaction holds is alive here: its records, undo log and change list.
    gc();
    atCommit = process.memoryUsage().heapUsed;
  });
  gc();
  const before = process.memoryUsage().heapUsed;
  await cdcAdmin(e).runCapture('C');
  off();
  assert.equal(harvested, 3 * n); // an insert, and an update's before and after rows
  assert.ok(atCommit !== undefined);
  const perRow = (atCommit - before) / harvested;
  // Packed as written: a record, its undo entry and its change (~300 B). As arrays, the change rows' values (21
  // of them, BigInts, decimals, strings, temporal values, Buffers) held ~1.3 KB more per row of this table.
  assert.ok(perRow < 700, `heap bytes per change row held by the harvest at its commit: ${perRow.toFixed(0)}`);
  const [[rows]] = (await x('SELECT COUNT(*) FROM cdc.dbo_W_CT')) as [[bigint]];
  assert.equal(rows, BigInt(3 * n));
});

test('commit listeners get the exact after-images of the change rows, and the change table holds them', async () => {
  const { e, x, ct } = await wideWithCdc();
  await x(`INSERT INTO dbo.W VALUES ${ROW(1)}, ${ROW(2)}`);
  await x("UPDATE dbo.W SET n = 7, u = N'ø' WHERE id = 1");
  await x('DELETE FROM dbo.W WHERE id = 2');
  const handed: SqlValue[][] = [];
  const off = e.admin.onCommit('C', (t) => {
    for (const c of t.changes) if (c.tableObjectId === ct.objectId && c.after) handed.push(c.after.slice());
  });
  await cdcAdmin(e).runCapture('C');
  off();
  const stored = await x('SELECT * FROM cdc.dbo_W_CT ORDER BY __$start_lsn, __$seqval, __$operation');
  assert.equal(stored.length, 5);
  assert.deepEqual(handed, stored);
  assert.deepEqual(
    stored.map((r) => r[ct.column('__$operation')?.slot ?? -1]),
    [2n, 2n, 3n, 4n, 1n],
  );
  // The rows read back equal the source's values (row 1 after its update).
  const cols = 'id, n, b, f, d, big, s, u, bin, g, dt, t, d2, dto, m';
  const [after1] = await x(`SELECT ${cols} FROM dbo.W WHERE id = 1`);
  const [ua1] = await x(`SELECT ${cols} FROM cdc.dbo_W_CT WHERE __$operation = 4`);
  assert.deepEqual(ua1, after1);
});

test('a harvest that fails part-way leaves no packed row behind, and its retry writes them all', async () => {
  const { e, x } = await wideWithCdc();
  await x(`INSERT INTO dbo.W VALUES ${ROW(1)}, ${ROW(2)}, ${ROW(3)}`);
  // The change table cannot hold row 3's n: the harvest writes rows 1 and 2, fails at 3 and undoes all of it.
  await x('ALTER TABLE cdc.dbo_W_CT ALTER COLUMN n smallint NULL');
  await x('UPDATE dbo.W SET n = 100000 WHERE id = 3');
  await cdcAdmin(e).runCapture('C');
  const [[partial]] = (await x('SELECT COUNT(*) FROM cdc.dbo_W_CT')) as [[bigint]];
  assert.equal(partial, 3n); // the three inserts' rows (an earlier transaction); the update's stopped
  await x('ALTER TABLE cdc.dbo_W_CT ALTER COLUMN n int NULL');
  await cdcAdmin(e).runCapture('C');
  const ids = await x('SELECT id, __$operation, n FROM cdc.dbo_W_CT ORDER BY __$start_lsn, __$seqval, __$operation');
  assert.deepEqual(ids, [
    [1n, 2n, 3n],
    [2n, 2n, 6n],
    [3n, 2n, 9n],
    [3n, 3n, 9n],
    [3n, 4n, 100000n],
  ]);
});
