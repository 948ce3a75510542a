/**
 * A database whose CDC or Change Tracking is off: the strategy stops with a prerequisite error that says so and
 * gives the statements that enable it — for the database and for the table (a table cannot be enabled before
 * its database). Against a fresh simulator database with neither enabled.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { discoverTable } from '../../../src/source/discovery.js';
import { CdcStrategy } from '../../../src/source/strategies/cdc.js';
import { ChangeTrackingStrategy } from '../../../src/source/strategies/change-tracking.js';
import { PrerequisiteError } from '../../../src/source/errors.js';
import { SIM_CREDENTIALS } from '../../../sim/index.js';
import type { SourceConnection } from '../../../src/source/connection.js';
import { startSourceSim, type SourceSim } from '../../support/source-sim.js';

let s: SourceSim;
let conn: SourceConnection;

before(async () => {
  s = await startSourceSim();
  await s.admin.request().batch(`CREATE TABLE dbo.setup_t (id int NOT NULL PRIMARY KEY, v int NULL);
    ALTER DATABASE Claims SET ALLOW_SNAPSHOT_ISOLATION ON;`);
  conn = await s.connect({ user: SIM_CREDENTIALS.extractor.user, password: SIM_CREDENTIALS.extractor.password });
});
after(() => s?.stop());

test('CDC off for the database: sp_cdc_enable_db, then sp_cdc_enable_table', async () => {
  const d = await discoverTable(conn, 'dbo', 'setup_t', { strategy: 'cdc' });
  assert.throws(
    () => new CdcStrategy(conn, d),
    (e: unknown) => {
      assert.ok(e instanceof PrerequisiteError, String(e));
      assert.deepEqual(
        e.problems.map((p) => p.code),
        ['cdc.db_not_enabled', 'cdc.table_not_enabled'],
      );
      assert.match(e.message, /CDC is not enabled on database Claims/);
      assert.match(e.message, /fix: USE \[Claims\]; EXEC sys\.sp_cdc_enable_db;/);
      assert.match(
        e.message,
        /fix: EXEC sys\.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'setup_t', @role_name = N'tidemark_cdc_reader'/,
      );
      return true;
    },
  );
});

test('Change Tracking off for the database: ALTER DATABASE, then ALTER TABLE … ENABLE CHANGE_TRACKING', async () => {
  const d = await discoverTable(conn, 'dbo', 'setup_t', { strategy: 'change_tracking' });
  const st = new ChangeTrackingStrategy(conn, d);
  await assert.rejects(st.planWindow(null), (e: unknown) => {
    assert.ok(e instanceof PrerequisiteError, String(e));
    assert.deepEqual(
      e.problems.map((p) => p.code),
      ['ct.db_not_enabled', 'ct.table_not_enabled'],
    );
    assert.match(e.message, /fix: ALTER DATABASE \[Claims\] SET CHANGE_TRACKING = ON/);
    assert.match(e.message, /fix: ALTER TABLE \[dbo\]\.\[setup_t\] ENABLE CHANGE_TRACKING/);
    assert.doesNotMatch(e.message, /prerequisite check|error 0/);
    return true;
  });
});
