/**
 * Conformance: reading from an AlwaysOn readable secondary (brief §E checklist). On the simulator the target
 * starts a secondary with a redo lag; on a real server TIDEMARK_CONFORMANCE_MSSQL must name an availability
 * group listener (and TIDEMARK_CONFORMANCE_MSSQL_SECONDARY the secondary, for the direct-connection test).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import sql from 'mssql';
import { startSqlTarget, uniqueName, type SqlTarget } from '../support/sql-target.js';

const LAG_MS = 300;
let target: SqlTarget;
let primary: sql.ConnectionPool;
let reader: sql.ConnectionPool;
const t = uniqueName('ag');

before(async () => {
  target = await startSqlTarget({ secondary: { redoLagMs: LAG_MS } });
  primary = await target.connect();
  await primary.request().batch(`CREATE TABLE dbo.${t} (id int NOT NULL PRIMARY KEY, v int NULL)`);
  await primary.request().batch(`INSERT INTO dbo.${t} VALUES (1, 1)`);
  await waitForRedo();
  reader = await target.connect({ readOnlyIntent: true, appName: 'tidemark-extractor' });
});

after(async () => {
  await reader?.close();
  await primary?.request().batch(`DROP TABLE IF EXISTS dbo.${t}`);
  await primary?.close();
  await target?.stop();
});

const waitForRedo = () => new Promise((r) => setTimeout(r, LAG_MS * 2 + 50));

async function errorOf(p: Promise<unknown>): Promise<number> {
  try {
    await p;
  } catch (e) {
    return (e as { number?: number }).number ?? -1;
  }
  assert.fail('expected an error');
}

test('read-only intent is routed to the secondary: the database is READ_ONLY there, APP_NAME() is the client app', async () => {
  const r = await reader
    .request()
    .query(`SELECT DATABASEPROPERTYEX(DB_NAME(), 'Updateability') AS u, APP_NAME() AS app`);
  assert.deepEqual(r.recordset[0], { u: 'READ_ONLY', app: 'tidemark-extractor' });
  const p = await primary.request().query(`SELECT DATABASEPROPERTYEX(DB_NAME(), 'Updateability') AS u`);
  assert.equal((p.recordset[0] as { u: string }).u, 'READ_WRITE');
});

test('without read intent, a read-intent-only secondary refuses the login (978)', async (ctx) => {
  if (target.kind === 'mssql' && !process.env.TIDEMARK_CONFORMANCE_MSSQL_SECONDARY)
    return ctx.skip('needs TIDEMARK_CONFORMANCE_MSSQL_SECONDARY');
  try {
    const p = await target.connect({ secondary: true });
    await p.close();
    assert.fail('login should fail');
  } catch (e) {
    const err = e as { message: string; originalError?: { message?: string } };
    assert.match(err.message, /application intent is set to read only/i);
  }
  return undefined;
});

test('on the secondary every transaction is a snapshot, writes fail, data lags by the redo delay', async () => {
  const tx = new sql.Transaction(reader);
  await tx.begin(sql.ISOLATION_LEVEL.SERIALIZABLE);
  const q = `SELECT COUNT(*) AS n FROM dbo.${t}`;
  const first = ((await new sql.Request(tx).query(q)).recordset[0] as { n: number }).n;
  await primary.request().batch(`INSERT INTO dbo.${t} VALUES (2, 2)`);
  await waitForRedo();
  const second = ((await new sql.Request(tx).query(q)).recordset[0] as { n: number }).n;
  await tx.commit();
  assert.equal(second, first, 'a transaction on the secondary reads one snapshot');
  assert.equal(((await reader.request().query(q)).recordset[0] as { n: number }).n, first + 1);
  assert.equal(await errorOf(reader.request().batch(`INSERT INTO dbo.${t} VALUES (3, 3)`)), 3906);
  if (target.kind === 'simulator') {
    await primary.request().batch(`INSERT INTO dbo.${t} VALUES (4, 4)`);
    const lagging = await reader.request().query(`SELECT COUNT(*) AS n FROM dbo.${t} WHERE id = 4`);
    assert.equal((lagging.recordset[0] as { n: number }).n, 0, 'not redone yet');
    await waitForRedo();
    const redone = await reader.request().query(`SELECT COUNT(*) AS n FROM dbo.${t} WHERE id = 4`);
    assert.equal((redone.recordset[0] as { n: number }).n, 1);
  }
});

test('Change Tracking fails on the secondary with 22117; CDC functions work there', async () => {
  const db = ((await primary.request().query('SELECT DB_NAME() AS d')).recordset[0] as { d: string }).d;
  const ct = uniqueName('ag_ct');
  const cdc = uniqueName('ag_cdc');
  await primary.request().batch(`CREATE TABLE dbo.${ct} (id int NOT NULL PRIMARY KEY, v int NULL)`);
  await primary.request().batch(`CREATE TABLE dbo.${cdc} (id int NOT NULL PRIMARY KEY, v int NULL)`);
  await primary
    .request()
    .batch(
      `IF NOT EXISTS (SELECT 1 FROM sys.change_tracking_databases WHERE database_id = DB_ID()) ALTER DATABASE [${db}] SET CHANGE_TRACKING = ON`,
    );
  await primary.request().batch(`ALTER TABLE dbo.${ct} ENABLE CHANGE_TRACKING`);
  await primary
    .request()
    .batch(
      `IF NOT EXISTS (SELECT 1 FROM sys.databases WHERE name = DB_NAME() AND is_cdc_enabled = 1) EXEC sys.sp_cdc_enable_db`,
    );
  await primary
    .request()
    .batch(`EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'${cdc}', @role_name = NULL`);
  await primary.request().batch(`INSERT INTO dbo.${cdc} VALUES (1, 1)`);
  await primary.request().batch('EXEC sys.sp_cdc_scan @maxtrans = 500, @maxscans = 10, @continuous = 0');
  await waitForRedo();
  assert.equal(await errorOf(reader.request().query(`SELECT * FROM CHANGETABLE(CHANGES dbo.${ct}, 0) AS c`)), 22117);
  assert.equal(await errorOf(reader.request().query('SELECT CHANGE_TRACKING_CURRENT_VERSION() AS v')), 22117);
  const r = await reader.request().query(
    `DECLARE @f binary(10) = sys.fn_cdc_get_min_lsn('dbo_${cdc}'), @t binary(10) = sys.fn_cdc_get_max_lsn();
     SELECT __$operation AS op, id FROM cdc.fn_cdc_get_all_changes_dbo_${cdc}(@f, @t, N'all')`,
  );
  assert.deepEqual(r.recordset, [{ op: 2, id: 1 }]);
});
