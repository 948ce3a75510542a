/**
 * Changes waiting for the capture job hold their images packed (sim/engine/cdc/capture.ts, PendingChange): a
 * backlog of committed rows costs a few heap objects per change, not one per value, and the change table gets
 * exactly the values the rows had — every type the row codec packs, NULLs, rows narrower than the table (written
 * before a column was added, whose missing value is the column's default), updates' masks and before-images.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cdcAdmin } from '../../../../sim/engine/cdc/index.js';
import { ROW, WIDE, cdcEngine, gc } from './cdc-wide-table.js';

test('a backlog of committed changes holds a few hundred heap bytes per change while it waits for the capture job', async () => {
  const { e, x } = cdcEngine();
  await x(WIDE);
  await x('EXEC sys.sp_cdc_enable_db');
  await x("EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'W', @role_name = NULL");
  const n = 20_000;
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < n; i += 500)
    await x(
      `INSERT INTO dbo.W VALUES ${Array.from({ length: 500 }, (_, k) => ROW(i + k)).join(',')}; ` +
        `UPDATE dbo.W SET n = n + 1, s = 'x' WHERE id >= ${i} AND id < ${i + 500}`,
    );
  gc();
  const perChange = (process.memoryUsage().heapUsed - before) / (2 * n);
  // The rows themselves are packed (one record object each); the waiting changes, as value arrays, held ~1.5 KB
  // per change of this table on top of that.
  assert.ok(perChange < 400, `heap bytes per waiting change: ${perChange.toFixed(0)}`);
  await cdcAdmin(e).runCapture('C');
  const [[rows]] = (await x('SELECT COUNT(*) FROM cdc.dbo_W_CT')) as [[bigint]];
  assert.equal(rows, BigInt(3 * n)); // an insert, and an update's before and after rows
});

test('the change table gets the exact values, masks and before-images, for packed and narrower rows', async () => {
  const { e, x } = cdcEngine();
  await x(WIDE);
  await x('EXEC sys.sp_cdc_enable_db');
  await x("EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'W', @role_name = NULL");
  await x(`INSERT INTO dbo.W VALUES ${ROW(1)}, ${ROW(2)}, (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    NULL, NULL, NULL, NULL, NULL)`);
  await cdcAdmin(e).runCapture('C');
  // Rows 1–3 now have the table's first layout; a column added later reads as its default in them.
  await x("ALTER TABLE dbo.W ADD k varchar(10) NOT NULL CONSTRAINT DF_W_k DEFAULT 'dflt'");
  await x(`UPDATE dbo.W SET n = 7, u = N'ø ${'x'.repeat(30)}' WHERE id IN (1, 3)`);
  await x('DELETE FROM dbo.W WHERE id = 2');
  await x(`INSERT INTO dbo.W VALUES ${ROW(4).slice(0, -1)}, 'k4')`);
  await cdcAdmin(e).runCapture('C');

  const cols = 'id, n, b, f, d, big, s, u, bin, g, dt, t, d2, dto, m';
  const source = await x(
    `SELECT __$operation, __$update_mask, ${cols} FROM cdc.dbo_W_CT ORDER BY __$start_lsn, __$seqval, __$operation`,
  );
  // What the rows were, read back from the source table at each point, as the change table must hold them.
  const expectRow = async (where: string) => (await x(`SELECT ${cols} FROM dbo.W WHERE ${where}`))[0];
  assert.equal(source.length, 3 + 2 + 2 + 1 + 1);
  const [i1, i2, i3, ub1, ua1, ub3, ua3, d2, i4] = source;
  assert.deepEqual(
    [i1?.[0], i2?.[0], i3?.[0], ub1?.[0], ua1?.[0], ub3?.[0], ua3?.[0], d2?.[0], i4?.[0]],
    [2n, 2n, 2n, 3n, 4n, 3n, 4n, 1n, 2n],
  );
  assert.deepEqual(ua1?.slice(2), await expectRow('id = 1'));
  assert.deepEqual(ua3?.slice(2), await expectRow('id = 3'));
  assert.deepEqual(i4?.slice(2), await expectRow('id = 4'));
  // Before-images and the insert and delete of row 2 are the values inserted.
  const inserted1 = i1?.slice(2);
  assert.deepEqual(ub1?.slice(2), inserted1);
  assert.deepEqual(d2?.slice(2), i2?.slice(2));
  assert.deepEqual(ub3?.slice(2), [3n, ...Array.from({ length: 14 }, () => null)]);
  assert.equal((inserted1?.[6] as string).trimEnd(), 'n1');
  assert.equal(inserted1?.[7], 'ünï 1 ☃');
  // The update masks name n and u only (ordinals 2 and 8 of 15 captured columns; the last byte holds the first
  // eight, as SQL Server orders it).
  assert.deepEqual(ua1?.[1], Buffer.from([0x00, 0x82]));
  assert.deepEqual(ub3?.[1], Buffer.from([0x00, 0x82]));
});
