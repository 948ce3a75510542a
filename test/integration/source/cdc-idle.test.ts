/**
 * CDC's max LSN moves while a table is idle (other tables' changes; the capture job's placeholder rows in
 * cdc.lsn_time_mapping), so "max LSN moved" does not mean "this table changed". The plan probes the change
 * function (`TOP (1)`) and says `idle`, so the sync need not commit an empty manifest every cadence.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { discoverTable } from '../../../src/source/discovery.js';
import { CdcStrategy } from '../../../src/source/strategies/cdc.js';
import type { SourceConnection } from '../../../src/source/connection.js';
import { collect, startSourceSim, type SourceSim } from '../../support/source-sim.js';

let s: SourceSim;
let conn: SourceConnection;
const scan = () => s.admin.request().batch('EXEC sys.sp_cdc_scan @maxtrans = 500, @maxscans = 10, @continuous = 0');

before(async () => {
  s = await startSourceSim();
  conn = await s.connect();
  await s.admin.request().batch(`EXEC sys.sp_cdc_enable_db;
    CREATE TABLE dbo.idle_a (id int NOT NULL PRIMARY KEY, note varchar(20) NULL);
    CREATE TABLE dbo.busy_b (id int NOT NULL PRIMARY KEY, note varchar(20) NULL);
    EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'idle_a', @role_name = NULL;
    EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'busy_b', @role_name = NULL;`);
  await s.admin
    .request()
    .batch(`EXEC sys.sp_cdc_stop_job @job_type = N'capture'`)
    .catch(() => undefined);
});
after(() => s?.stop());

test('cdc: a window in which only other tables changed (or only placeholders moved max LSN) is planned idle; a change is not', async () => {
  const st = new CdcStrategy(conn, await discoverTable(conn, 'dbo', 'idle_a'));
  await s.admin.request().batch(`INSERT INTO dbo.idle_a VALUES (1, 'a')`);
  await scan();
  const first = await st.planWindow(null);
  assert.equal((await collect(st, first)).length, 1);
  let pos = first.to;

  // Another table changes; then an idle scan writes a placeholder: max LSN moves twice, idle_a has nothing.
  await s.admin.request().batch(`INSERT INTO dbo.busy_b VALUES (1, 'b')`);
  await scan();
  await scan();
  const idle = await st.planWindow(pos);
  assert.deepEqual([idle.empty, idle.idle, idle.lagSeconds], [false, true, 0]);
  assert.ok(idle.to > pos, 'the window still reaches the new max LSN (so a committed idle window moves the position)');
  assert.equal((await collect(st, idle)).length, 0, 'reading it would yield nothing');
  pos = idle.to;

  await s.admin.request().batch(`UPDATE dbo.idle_a SET note = 'a2' WHERE id = 1`);
  await scan();
  const busy = await st.planWindow(pos);
  assert.equal(busy.empty, false);
  assert.equal(busy.idle, undefined);
  assert.deepEqual(
    (await collect(st, busy)).map((r) => r.op),
    ['u'],
  );
});
