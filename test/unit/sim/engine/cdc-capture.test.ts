/**
 * The capture scan never lets get_max_lsn pass a commit it has not harvested: rows that appear after a reader
 * saw max_lsn = m all have __$start_lsn > m, even when commits land while a scan runs.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createEngine } from '../../../../sim/engine/index.js';
import { cdcAdmin } from '../../../../sim/engine/cdc/index.js';

test('concurrent commits during scans are harvested by a later scan, above the max LSN seen before', async () => {
  const e = createEngine();
  e.admin.createDatabase('C');
  cdcAdmin(e).configure({ autoStart: false });
  const x = (sql: string) => e.admin.execute(sql, { database: 'C' });
  await x('CREATE TABLE dbo.T (id int NOT NULL PRIMARY KEY, v int NULL)');
  await x('EXEC sys.sp_cdc_enable_db');
  await x("EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'T', @role_name = NULL");
  const seen = new Set<string>();
  let id = 0;
  for (let round = 0; round < 40; round++) {
    const r = await x('SELECT sys.fn_cdc_get_max_lsn() AS m');
    const m = (r.resultSets[0]?.rows[0]?.[0] ?? null) as Buffer | null;
    await Promise.all([
      cdcAdmin(e).runCapture('C'),
      x(`INSERT INTO dbo.T VALUES (${++id}, 1)`),
      x(`INSERT INTO dbo.T VALUES (${++id}, 2)`),
    ]);
    const rows = (await x('SELECT __$start_lsn, id FROM cdc.dbo_T_CT')).resultSets[0]?.rows ?? [];
    for (const [lsn, key] of rows) {
      const k = typeof key === 'bigint' ? key.toString() : JSON.stringify(key);
      if (seen.has(k)) continue;
      seen.add(k);
      if (m) assert.ok(Buffer.compare(lsn as Buffer, m) > 0, `row ${k} appeared below a max LSN already seen`);
    }
  }
  await cdcAdmin(e).runCapture('C');
  const all = (await x('SELECT COUNT(*) FROM cdc.dbo_T_CT')).resultSets[0]?.rows[0]?.[0];
  assert.equal(all, BigInt(id));
});
