/**
 * Error 313 at read time is not always a gap. When a table's capture fails (its change table cannot hold a
 * value) while the database's other tables are still captured, the max LSN keeps moving and a window planned up
 * to it reaches changes the instance has not harvested: CDC refuses the range with 313, as for any range not
 * processed yet. Nothing was cleaned up (the window starts above the instance's min LSN), so re-seeding would be
 * wrong: the read must fail as retryable "capture behind", and succeed once the capture catches up.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { discoverTable } from '../../../src/source/discovery.js';
import { CaptureBehindError, ChangeLogGapError } from '../../../src/source/errors.js';
import { CdcStrategy } from '../../../src/source/strategies/cdc.js';
import type { SourceConnection } from '../../../src/source/connection.js';
import { collect, poll, startSourceSim, type SourceSim } from '../../support/source-sim.js';

let s: SourceSim;
let conn: SourceConnection;
const exec = (text: string) => s.admin.request().batch(text);
const scan = () => exec('EXEC sys.sp_cdc_scan @maxtrans = 500, @maxscans = 10, @continuous = 0');

before(async () => {
  s = await startSourceSim({ cdc: { autoStart: false } });
  await exec('EXEC sys.sp_cdc_enable_db');
  conn = await s.connect();
});
after(() => s?.stop());

test('cdc: a range the capture has not harvested for this table (313 above min LSN) is retryable, not a gap', async () => {
  await exec('CREATE TABLE dbo.behind_a (id int NOT NULL PRIMARY KEY, code varchar(5) NULL)');
  await exec('CREATE TABLE dbo.behind_b (id int NOT NULL PRIMARY KEY, v int NULL)');
  for (const t of ['behind_a', 'behind_b'])
    await exec(`EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'${t}', @role_name = NULL`);
  await exec("INSERT INTO dbo.behind_a VALUES (1, 'abc')");
  await scan();
  const a = new CdcStrategy(conn, await discoverTable(conn, 'dbo', 'behind_a'));
  const first = await poll(a, null);
  assert.equal(first.rows.length, 1);

  // The change table still holds 'abc', so its column stays varchar(5) after the source column becomes int
  // (22976), and 123456 cannot be harvested (2628): A's capture stops there while B's goes on.
  await exec("UPDATE dbo.behind_a SET code = '1' WHERE id = 1");
  await exec('ALTER TABLE dbo.behind_a ALTER COLUMN code int NULL');
  await exec('INSERT INTO dbo.behind_a VALUES (2, 123456)');
  await exec('INSERT INTO dbo.behind_b VALUES (1, 1)');
  await scan();

  const window = await a.planWindow(first.position);
  assert.equal(window.empty, false, 'the max LSN moved past the stuck transaction');
  await assert.rejects(collect(a, window), (err: unknown) => {
    assert.ok(!(err instanceof ChangeLogGapError), `not a gap: ${String(err)}`);
    assert.ok(err instanceof CaptureBehindError, String(err));
    assert.equal(err.retryable, true);
    assert.match(err.message, /sys\.dm_cdc_errors/);
    return true;
  });

  // A DBA widens the change table's column; the next scan harvests the stuck rows at their original LSNs and
  // the same window (same bounds) now reads them.
  await exec('ALTER TABLE cdc.dbo_behind_a_CT ALTER COLUMN code varchar(10) NULL');
  await scan();
  const rows = await collect(a, window);
  assert.ok(rows.length >= 2, `the stuck changes arrive: ${rows.length}`);
});
