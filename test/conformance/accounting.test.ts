/**
 * Simulator accounting: a keyset page is an index seek that reads about one page of rows, never a scan. The
 * `sim.statement_stats` view exists only in the simulator, so against a real server this file checks only the
 * query results (the reads are what sys.dm_exec_query_stats would show there).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import sql from 'mssql';
import { startSqlTarget, uniqueName, type SqlTarget } from '../support/sql-target.js';

let target: SqlTarget;
let pool: sql.ConnectionPool;
const table = uniqueName('conf_acct');
const ROWS = 3000;

interface StatRow {
  access_kind: string;
  rows_read: string;
  index_name: string;
}

async function lastStats(like: string): Promise<StatRow[]> {
  const r = await pool
    .request()
    .input('like', sql.NVarChar, like)
    .query(
      `SELECT access_kind, rows_read, index_name FROM sim.statement_stats
       WHERE session_id = @@SPID AND sql_text LIKE @like AND statement_id = (
         SELECT MAX(statement_id) FROM sim.statement_stats WHERE session_id = @@SPID AND sql_text LIKE @like)`,
    );
  return r.recordset as StatRow[];
}

before(async () => {
  target = await startSqlTarget();
  pool = await target.connect();
  await pool.request()
    .batch(`CREATE TABLE dbo.${table} (id bigint IDENTITY(1,1) PRIMARY KEY, grp int NOT NULL, rv rowversion NOT NULL, note varchar(20) NULL);
    CREATE INDEX IX_${table}_rv ON dbo.${table} (rv);
    CREATE INDEX IX_${table}_grp ON dbo.${table} (grp, id);
    DECLARE @i int = 0;
    WHILE @i < ${ROWS} BEGIN INSERT INTO dbo.${table} (grp, note) VALUES (@i % 10, 'n'); SET @i += 1; END`);
});

after(async () => {
  await pool?.request().batch(`DROP TABLE IF EXISTS dbo.${table}`);
  await pool?.close();
  await target?.stop();
});

test('a keyset page with OFFSET/FETCH is a PK seek reading one page', async () => {
  const r = await pool
    .request()
    .input('last', sql.BigInt, 1000)
    .query(`SELECT id, grp FROM dbo.${table} WHERE id > @last ORDER BY id OFFSET 0 ROWS FETCH NEXT 100 ROWS ONLY`);
  assert.equal(r.recordset.length, 100);
  assert.equal((r.recordset[0] as { id: string }).id, '1001');
  if (target.kind !== 'simulator') return;
  const [s] = await lastStats('SELECT id, grp FROM dbo.conf_acct%OFFSET 0 ROWS%');
  assert.equal(s?.access_kind, 'seek');
  assert.ok(Number(s?.rows_read) <= 101, `read ${s?.rows_read} rows`);
});

test('TOP (n) keyset over a composite key predicate seeks', async () => {
  const r = await pool
    .request()
    .input('g', sql.Int, 3)
    .input('id', sql.BigInt, 1500)
    .query(`SELECT TOP (50) grp, id FROM dbo.${table} WHERE (grp > @g) OR (grp = @g AND id > @id) ORDER BY grp, id`);
  assert.equal(r.recordset.length, 50);
  assert.deepEqual(r.recordset[0], { grp: 3, id: '1504' });
  if (target.kind !== 'simulator') return;
  const [s] = await lastStats('SELECT TOP (50) grp, id%');
  assert.equal(s?.access_kind, 'seek');
  assert.equal(s?.index_name, `IX_${table}_grp`);
  assert.ok(Number(s?.rows_read) <= 51, `read ${s?.rows_read} rows`);
});

test('a rowversion window uses the rowversion index; an unindexed predicate scans', async () => {
  const lo = (await pool.request().query(`SELECT rv FROM dbo.${table} WHERE id = 2990`)).recordset[0] as { rv: Buffer };
  const r = await pool
    .request()
    .input('lo', sql.VarBinary(8), lo.rv)
    .query(`SELECT id FROM dbo.${table} WHERE rv >= @lo AND rv < MIN_ACTIVE_ROWVERSION() ORDER BY rv`);
  assert.equal(r.recordset.length, 11);
  if (target.kind !== 'simulator') return;
  const [s] = await lastStats('SELECT id FROM dbo.conf_acct%rv >= @lo%');
  assert.equal(s?.access_kind, 'seek');
  assert.ok(Number(s?.rows_read) <= 12, `read ${s?.rows_read} rows`);
  await pool.request().query(`SELECT COUNT(*) AS n FROM dbo.${table} WHERE note = 'zz'`);
  const [scan] = await lastStats(`SELECT COUNT(*) AS n FROM dbo.conf_acct%note = 'zz'%`);
  assert.equal(scan?.access_kind, 'scan');
  assert.equal(Number(scan?.rows_read), ROWS);
});
