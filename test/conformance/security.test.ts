/**
 * Conformance: the least-privilege extractor (brief §A.9, §B permissions). A login with a user in its own
 * database, a CDC gating role, GRANT/DENY SELECT, VIEW CHANGE TRACKING, and the checks a connector uses to
 * detect an over-privileged login. Needs a sysadmin login on a real server.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type sql from 'mssql';
import { startSqlTarget, uniqueName, type SqlTarget } from '../support/sql-target.js';

let target: SqlTarget;
let admin: sql.ConnectionPool;
let pool: sql.ConnectionPool;
let ext: sql.ConnectionPool;
const database = uniqueName('conf_sec');
const login = uniqueName('tm_ext');
const password = 'Tm!Extractor-2019-x';
const table = 'Claims';
const ct = 'Providers';

before(async () => {
  target = await startSqlTarget();
  admin = await target.connect({ database: 'master' });
  await admin.request().batch(`CREATE DATABASE [${database}]`);
  await admin
    .request()
    .batch(`CREATE LOGIN [${login}] WITH PASSWORD = '${password}', DEFAULT_DATABASE = [${database}]`);
  pool = await target.connect({ database });
  await pool.request().batch(`
    CREATE TABLE dbo.${table} (id int NOT NULL PRIMARY KEY, amount decimal(19,4) NULL, secret nvarchar(20) NULL);
    CREATE TABLE dbo.${ct} (id int NOT NULL PRIMARY KEY, name nvarchar(20) NULL);
    CREATE USER [${login}] FOR LOGIN [${login}];
    CREATE ROLE cdc_reader;`);
  await pool.request().batch('EXEC sys.sp_cdc_enable_db');
  await pool
    .request()
    .batch(
      `EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'${table}', @role_name = N'cdc_reader', @captured_column_list = N'id, amount'`,
    );
  await pool.request().batch(`EXEC sys.sp_cdc_stop_job @job_type = N'capture'`);
  await pool
    .request()
    .batch(
      `ALTER DATABASE [${database}] SET CHANGE_TRACKING = ON (CHANGE_RETENTION = 2 DAYS, AUTO_CLEANUP = ON); ALTER TABLE dbo.${ct} ENABLE CHANGE_TRACKING`,
    );
  await pool.request().batch(`INSERT INTO dbo.${table} VALUES (1, 10, N's'); INSERT INTO dbo.${ct} VALUES (1, N'p')`);
  await pool.request().batch('EXEC sys.sp_cdc_scan @maxtrans = 500, @maxscans = 10, @continuous = 0');
  ext = await target.connect({ database, user: login, password });
});

after(async () => {
  await ext?.close();
  await pool?.close();
  if (admin) {
    await admin
      .request()
      .batch(`DROP DATABASE IF EXISTS [${database}]`)
      .catch(() => undefined);
    await admin
      .request()
      .batch(`DROP LOGIN [${login}]`)
      .catch(() => undefined);
    await admin.close();
  }
  await target?.stop();
});

async function errorOf(
  p: Promise<unknown>,
): Promise<{ number: number; class: number; state: number; message: string }> {
  try {
    await p;
  } catch (e) {
    const err = e as { number?: number; class?: number; state?: number; message: string };
    return { number: err.number ?? -1, class: err.class ?? -1, state: err.state ?? -1, message: err.message };
  }
  assert.fail('expected an error');
}

const readChanges = () =>
  ext.request().query(
    `DECLARE @f binary(10) = sys.fn_cdc_get_min_lsn('dbo_${table}'), @t binary(10) = sys.fn_cdc_get_max_lsn();
       SELECT * FROM cdc.fn_cdc_get_all_changes_dbo_${table}(@f, @t, N'all')`,
  );

const minLsn = async (): Promise<Buffer> =>
  ((await ext.request().query(`SELECT sys.fn_cdc_get_min_lsn('dbo_${table}') AS m`)).recordset[0] as { m: Buffer }).m;

test('without SELECT and the gating role: 229/14/5 on the change function, min_lsn is ten zero bytes', async () => {
  const e = await errorOf(readChanges());
  assert.equal(e.number, 229);
  assert.equal(e.class, 14);
  assert.equal(e.state, 5);
  assert.deepEqual(await minLsn(), Buffer.alloc(10));
  const sel = await errorOf(ext.request().query(`SELECT id FROM dbo.${table}`));
  assert.equal(sel.number, 229);
});

test('the gating role alone is not enough; SELECT on the captured columns plus the role reads changes', async () => {
  await pool.request().batch(`ALTER ROLE cdc_reader ADD MEMBER [${login}]`);
  assert.equal((await errorOf(readChanges())).number, 229);
  await pool.request().batch(`GRANT SELECT ON dbo.${table} (id, amount) TO [${login}]`);
  const r = await readChanges();
  assert.equal(r.recordset.length, 1);
  assert.notDeepEqual(await minLsn(), Buffer.alloc(10));
});

test('DENY SELECT wins over a role grant', async () => {
  await pool
    .request()
    .batch(`CREATE ROLE readers_${login.slice(-6)}; GRANT SELECT ON dbo.${ct} TO readers_${login.slice(-6)}`);
  await pool.request().batch(`ALTER ROLE readers_${login.slice(-6)} ADD MEMBER [${login}]`);
  const ok = await ext.request().query(`SELECT id FROM dbo.${ct}`);
  assert.equal(ok.recordset.length, 1);
  await pool.request().batch(`DENY SELECT ON dbo.${ct} TO [${login}]`);
  assert.equal((await errorOf(ext.request().query(`SELECT id FROM dbo.${ct}`))).number, 229);
  await pool.request().batch(`REVOKE SELECT ON dbo.${ct} FROM [${login}]`);
});

test('Change Tracking needs VIEW CHANGE TRACKING: CHANGETABLE fails and MIN_VALID_VERSION is NULL without it', async () => {
  const q = `SELECT c.id FROM CHANGETABLE(CHANGES dbo.${ct}, 0) AS c`;
  assert.equal((await errorOf(ext.request().query(q))).number, 229);
  const nullMin = await ext.request().query(`SELECT CHANGE_TRACKING_MIN_VALID_VERSION(OBJECT_ID('dbo.${ct}')) AS v`);
  assert.equal((nullMin.recordset[0] as { v: string | null }).v, null);
  await pool.request().batch(`GRANT VIEW CHANGE TRACKING ON dbo.${ct} TO [${login}]`);
  assert.equal((await ext.request().query(q)).recordset.length, 1);
  const min = await ext.request().query(`SELECT CHANGE_TRACKING_MIN_VALID_VERSION(OBJECT_ID('dbo.${ct}')) AS v`);
  assert.notEqual((min.recordset[0] as { v: string | null }).v, null);
});

test('a connector can tell a least-privilege login from an over-privileged one', async () => {
  const probe = `SELECT IS_SRVROLEMEMBER('sysadmin') AS sa, IS_MEMBER('db_owner') AS dbo,
    HAS_PERMS_BY_NAME('dbo.${table}', 'OBJECT', 'SELECT') AS sel,
    HAS_PERMS_BY_NAME('dbo.${table}', 'OBJECT', 'SELECT', 'secret', 'COLUMN') AS secret_col,
    HAS_PERMS_BY_NAME(DB_NAME(), 'DATABASE', 'VIEW DATABASE STATE') AS vds`;
  const least = (await ext.request().query(probe)).recordset[0] as Record<string, number>;
  assert.equal(least.sa, 0);
  assert.equal(least.dbo, 0);
  assert.equal(least.secret_col, 0);
  assert.equal(least.vds, 0);
  const over = (await pool.request().query(probe)).recordset[0] as Record<string, number>;
  assert.equal(over.sa, 1);
  assert.equal(over.dbo, 1);
  assert.equal(over.sel, 1);
});

test('sys.fn_my_permissions lists the column grants of a least-privilege login', async () => {
  const r = await ext
    .request()
    .query(
      `SELECT subentity_name, permission_name FROM sys.fn_my_permissions('dbo.${table}', 'OBJECT') WHERE subentity_name <> '' ORDER BY subentity_name`,
    );
  const cols = (r.recordset as { subentity_name: string; permission_name: string }[]).map((x) =>
    x.subentity_name.toLowerCase(),
  );
  assert.ok(cols.includes('id') && cols.includes('amount') && !cols.includes('secret'));
  const db = await ext.request().query(`SELECT permission_name FROM sys.fn_my_permissions(NULL, 'DATABASE')`);
  const perms = (db.recordset as { permission_name: string }[]).map((x) => x.permission_name);
  assert.ok(perms.includes('CONNECT') && !perms.includes('CONTROL'));
});

test('CONTROL on a table implies every permission on it; ALTER is held on its own', async () => {
  await pool.request().batch(`GRANT CONTROL ON dbo.${ct} TO [${login}]; GRANT ALTER ON dbo.${table} TO [${login}]`);
  const probe = `SELECT HAS_PERMS_BY_NAME('dbo.${ct}', 'OBJECT', 'CONTROL') AS ctl,
    HAS_PERMS_BY_NAME('dbo.${ct}', 'OBJECT', 'INSERT') AS ins, HAS_PERMS_BY_NAME('dbo.${ct}', 'OBJECT', 'DELETE') AS del,
    HAS_PERMS_BY_NAME('dbo.${table}', 'OBJECT', 'ALTER') AS alt, HAS_PERMS_BY_NAME('dbo.${table}', 'OBJECT', 'CONTROL') AS tctl,
    HAS_PERMS_BY_NAME('dbo.${table}', 'OBJECT', 'INSERT') AS tins`;
  const held = (await ext.request().query(probe)).recordset[0] as Record<string, number>;
  assert.deepEqual({ ...held }, { ctl: 1, ins: 1, del: 1, alt: 1, tctl: 0, tins: 0 });
  await ext.request().batch(`INSERT INTO dbo.${ct} VALUES (2, N'q')`);
  const mine = await ext.request().query(`SELECT permission_name FROM sys.fn_my_permissions('dbo.${ct}', 'OBJECT')`);
  const perms = (mine.recordset as { permission_name: string }[]).map((x) => x.permission_name);
  assert.ok(perms.includes('CONTROL') && perms.includes('INSERT'), perms.join(', '));
  await pool
    .request()
    .batch(`REVOKE CONTROL ON dbo.${ct} FROM [${login}]; REVOKE ALTER ON dbo.${table} FROM [${login}]`);
  const gone = (await ext.request().query(probe)).recordset[0] as Record<string, number>;
  assert.deepEqual({ ...gone }, { ctl: 0, ins: 0, del: 0, alt: 0, tctl: 0, tins: 0 });
});
