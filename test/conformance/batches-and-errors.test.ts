/**
 * Conformance: batches, parameterized queries, row counts and errors as SQL Server 2019 reports them.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import sql from 'mssql';
import { startSqlTarget, uniqueName, type SqlTarget } from '../support/sql-target.js';

let target: SqlTarget;
let pool: sql.ConnectionPool;
const table = uniqueName('conf_batch');

interface SqlErrorLike {
  number?: number;
  class?: number;
  state?: number;
  message?: string;
}

async function sqlErrorOf(p: Promise<unknown>): Promise<SqlErrorLike> {
  try {
    await p;
  } catch (e) {
    return e as SqlErrorLike;
  }
  throw new Error('expected an error');
}

before(async () => {
  target = await startSqlTarget();
  pool = await target.connect();
  await pool
    .request()
    .batch(`CREATE TABLE dbo.${table} (id int NOT NULL PRIMARY KEY, name varchar(5) NOT NULL, amt decimal(9,2) NULL)`);
});

after(async () => {
  await pool?.request().batch(`DROP TABLE IF EXISTS dbo.${table}`);
  await pool?.close();
  await target?.stop();
});

test('a multi-statement batch reports rowsAffected per statement', async () => {
  const r = await pool.request().batch(`
    INSERT INTO dbo.${table} (id, name, amt) VALUES (1, 'a', 1.50), (2, 'b', 2.25), (3, 'c', NULL);
    UPDATE dbo.${table} SET amt = amt * 2 WHERE amt IS NOT NULL;
    DELETE FROM dbo.${table} WHERE id = 3;
    SELECT id, amt FROM dbo.${table} ORDER BY id;`);
  assert.deepEqual(r.rowsAffected, [3, 2, 1, 2]);
  assert.deepEqual(
    r.recordset.map((x: { id: number; amt: number }) => [x.id, x.amt]),
    [
      [1, 3],
      [2, 4.5],
    ],
  );
});

test('parameterized queries go through sp_executesql', async () => {
  const r = await pool.request().input('id', sql.Int, 2).query(`SELECT name FROM dbo.${table} WHERE id = @id`);
  assert.deepEqual(r.recordset, [{ name: 'b' }]);
  const u = await pool
    .request()
    .input('n', sql.NVarChar, 'B')
    .query(`SELECT COUNT(*) AS n FROM dbo.${table} WHERE name = @n`);
  assert.equal((u.recordset[0] as { n: number }).n, 1, 'default collation is case-insensitive');
});

test('several result sets in one request', async () => {
  const r = await pool.request().query(`SELECT 1 AS a; SELECT 2 AS b, 3 AS c`);
  const sets = r.recordsets as unknown as Record<string, number>[][];
  assert.equal(sets.length, 2);
  assert.deepEqual(sets[1], [{ b: 2, c: 3 }]);
});

test('a duplicate key is 2627/14/1 and the batch continues', async () => {
  const err = await sqlErrorOf(pool.request().batch(`INSERT INTO dbo.${table} (id, name) VALUES (1, 'dup')`));
  assert.equal(err.number, 2627);
  assert.equal(err.class, 14);
  assert.equal(err.state, 1);
  assert.match(
    err.message ?? '',
    /^Violation of PRIMARY KEY constraint '.+'\. Cannot insert duplicate key in object 'dbo\.conf_batch_.+'\. The duplicate key value is \(1\)\.$/,
  );
});

test('NULL into NOT NULL is 515, truncation is 2628, conversion is 245, divide by zero is 8134', async () => {
  const e515 = await sqlErrorOf(pool.request().batch(`INSERT INTO dbo.${table} (id, name) VALUES (10, NULL)`));
  assert.equal(e515.number, 515);
  assert.equal(e515.class, 16);
  assert.equal(e515.state, 2);
  const e2628 = await sqlErrorOf(pool.request().batch(`INSERT INTO dbo.${table} (id, name) VALUES (11, 'toolong')`));
  assert.equal(e2628.number, 2628);
  assert.equal(e2628.class, 16);
  const e245 = await sqlErrorOf(pool.request().batch(`SELECT CAST('x1' AS int)`));
  assert.equal(e245.number, 245);
  assert.equal(e245.message, "Conversion failed when converting the varchar value 'x1' to data type int.");
  const e8134 = await sqlErrorOf(pool.request().batch('SELECT 1 / 0'));
  assert.equal(e8134.number, 8134);
  assert.equal(e8134.class, 16);
});

test('syntax, object and column errors', async () => {
  const e102 = await sqlErrorOf(pool.request().batch('SELEC 1'));
  assert.equal(e102.number, 102);
  assert.equal(e102.class, 15);
  assert.equal(e102.message, "Incorrect syntax near 'SELEC'.");
  const e208 = await sqlErrorOf(pool.request().query('SELECT * FROM dbo.no_such_table_xyz'));
  assert.equal(e208.number, 208);
  assert.equal(e208.class, 16);
  assert.equal(e208.message, "Invalid object name 'dbo.no_such_table_xyz'.");
  const e207 = await sqlErrorOf(pool.request().query(`SELECT no_such_column FROM dbo.${table}`));
  assert.equal(e207.number, 207);
  assert.equal(e207.message, "Invalid column name 'no_such_column'.");
});

test('the connection stays usable after errors', async () => {
  await sqlErrorOf(pool.request().batch('SELECT 1 / 0'));
  const r = await pool.request().query('SELECT 42 AS x');
  assert.equal((r.recordset[0] as { x: number }).x, 42);
});

test('session functions', async () => {
  const r = await pool.request()
    .query(`SELECT @@SPID AS spid, DB_NAME() AS db, APP_NAME() AS app, SUSER_NAME() AS login,
      @@TRANCOUNT AS tc, CAST(SERVERPROPERTY('ProductMajorVersion') AS int) AS major, OBJECT_ID('dbo.${table}') AS oid`);
  const row = r.recordset[0] as Record<string, unknown>;
  assert.equal(typeof row.spid, 'number');
  assert.equal(row.app, 'node-mssql');
  assert.equal(row.tc, 0);
  assert.equal(row.major, 15);
  assert.equal(typeof row.oid, 'number');
});
