/**
 * Two simulators in one process keep their own extension state: the catalog views extensions register
 * (sys.change_tracking_tables, sys.dm_cdc_errors, …) read the engine they belong to, so starting a second
 * simulator does not empty the first one's views.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import sql from 'mssql';
import { SIM_CREDENTIALS, startSimulator, type Simulator } from '../../../sim/index.js';

async function trackTable(sim: Simulator, table: string): Promise<void> {
  await sim.engine.admin.execute(
    `ALTER DATABASE Claims SET CHANGE_TRACKING = ON (CHANGE_RETENTION = 2 DAYS, AUTO_CLEANUP = ON);
     CREATE TABLE dbo.${table} (id int PRIMARY KEY, v int NULL);
     ALTER TABLE dbo.${table} ENABLE CHANGE_TRACKING`,
    { database: 'Claims' },
  );
}

/** Names of the change-tracked tables, read over TDS with the mssql driver. */
async function trackedTables(sim: Simulator): Promise<string[]> {
  const pool = await new sql.ConnectionPool({
    server: sim.host,
    port: sim.port,
    user: SIM_CREDENTIALS.admin.user,
    password: SIM_CREDENTIALS.admin.password,
    database: 'Claims',
    pool: { max: 1, min: 0 },
    options: { encrypt: false },
  }).connect();
  try {
    const r = await pool
      .request()
      .query<{ name: string }>(
        'SELECT OBJECT_NAME(object_id) AS name FROM sys.change_tracking_tables ORDER BY OBJECT_NAME(object_id)',
      );
    return r.recordset.map((x) => x.name);
  } finally {
    await pool.close();
  }
}

test('two simulators in one process each show their own change-tracked tables', async () => {
  const first = await startSimulator({ port: 0, cdc: { autoStart: false } });
  let second: Simulator | undefined;
  try {
    await trackTable(first, 'FirstTracked');
    second = await startSimulator({ port: 0, cdc: { autoStart: false } });
    await trackTable(second, 'SecondTracked');
    assert.deepEqual(await trackedTables(first), ['FirstTracked']);
    assert.deepEqual(await trackedTables(second), ['SecondTracked']);
  } finally {
    await second?.stop();
    await first.stop();
  }
});
