/**
 * Conformance: the catalog queries a connector uses for discovery report what SQL Server 2019 reports.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import sql from 'mssql';
import { startSqlTarget, uniqueName, type SqlTarget } from '../support/sql-target.js';

let target: SqlTarget;
let pool: sql.ConnectionPool;
const table = uniqueName('conf_disc');

before(async () => {
  target = await startSqlTarget();
  pool = await target.connect();
  await pool.request().batch(`CREATE TABLE dbo.${table} (
    tenant int NOT NULL, id int IDENTITY(1,1) NOT NULL, name nvarchar(50) NULL, amt decimal(18,2) NOT NULL,
    at datetime2(7) NOT NULL, rv rowversion, code char(3) NULL,
    CONSTRAINT PK_${table} PRIMARY KEY (tenant, id));
    CREATE INDEX IX_${table}_rv ON dbo.${table} (rv);`);
});

after(async () => {
  await pool?.request().batch(`DROP TABLE IF EXISTS dbo.${table}`);
  await pool?.close();
  await target?.stop();
});

test('sys.tables, sys.columns and sys.types', async () => {
  const r = await pool.request().input('t', sql.NVarChar, `dbo.${table}`).query(`
    SELECT s.name AS schema_name, t.name AS table_name, c.column_id, c.name, ty.name AS type_name, c.max_length, c.precision, c.scale,
           c.is_nullable, c.is_identity
    FROM sys.tables t JOIN sys.schemas s ON s.schema_id = t.schema_id
    JOIN sys.columns c ON c.object_id = t.object_id
    JOIN sys.types ty ON ty.user_type_id = c.user_type_id
    WHERE t.object_id = OBJECT_ID(@t) ORDER BY c.column_id`);
  const rows = r.recordset as Record<string, unknown>[];
  assert.equal(rows[0]?.schema_name, 'dbo');
  assert.deepEqual(
    rows.map((x) => [x.name, x.type_name, x.max_length, x.precision, x.scale, x.is_nullable, x.is_identity]),
    [
      ['tenant', 'int', 4, 10, 0, false, false],
      ['id', 'int', 4, 10, 0, false, true],
      ['name', 'nvarchar', 100, 0, 0, true, false],
      ['amt', 'decimal', 9, 18, 2, false, false],
      ['at', 'datetime2', 8, 27, 7, false, false],
      ['rv', 'timestamp', 8, 0, 0, false, false],
      ['code', 'char', 3, 0, 0, true, false],
    ],
  );
});

test('primary key and index columns', async () => {
  const r = await pool.request().input('t', sql.NVarChar, `dbo.${table}`).query(`
    SELECT i.name, i.type_desc, i.is_primary_key, i.is_unique, c.name AS column_name, ic.key_ordinal
    FROM sys.indexes i
    JOIN sys.index_columns ic ON ic.object_id = i.object_id AND ic.index_id = i.index_id
    JOIN sys.columns c ON c.object_id = ic.object_id AND c.column_id = ic.column_id
    WHERE i.object_id = OBJECT_ID(@t) ORDER BY i.index_id, ic.key_ordinal`);
  assert.deepEqual(
    (r.recordset as Record<string, unknown>[]).map((x) => [
      x.name,
      x.type_desc,
      x.is_primary_key,
      x.is_unique,
      x.column_name,
      x.key_ordinal,
    ]),
    [
      [`PK_${table}`, 'CLUSTERED', true, true, 'tenant', 1],
      [`PK_${table}`, 'CLUSTERED', true, true, 'id', 2],
      [`IX_${table}_rv`, 'NONCLUSTERED', false, false, 'rv', 1],
    ],
  );
  const k = await pool.request().input('t', sql.NVarChar, table).query(`
    SELECT COLUMN_NAME, ORDINAL_POSITION FROM INFORMATION_SCHEMA.KEY_COLUMN_USAGE
    WHERE TABLE_SCHEMA = 'dbo' AND TABLE_NAME = @t ORDER BY ORDINAL_POSITION`);
  assert.deepEqual(k.recordset, [
    { COLUMN_NAME: 'tenant', ORDINAL_POSITION: 1 },
    { COLUMN_NAME: 'id', ORDINAL_POSITION: 2 },
  ]);
});

test('INFORMATION_SCHEMA.COLUMNS', async () => {
  const r = await pool.request().input('t', sql.NVarChar, table).query(`
    SELECT COLUMN_NAME, DATA_TYPE, IS_NULLABLE, CHARACTER_MAXIMUM_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE, DATETIME_PRECISION
    FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = 'dbo' AND TABLE_NAME = @t ORDER BY ORDINAL_POSITION`);
  assert.deepEqual(
    (r.recordset as Record<string, unknown>[]).map((x) => Object.values(x)),
    [
      ['tenant', 'int', 'NO', null, 10, 0, null],
      ['id', 'int', 'NO', null, 10, 0, null],
      ['name', 'nvarchar', 'YES', 50, null, null, null],
      ['amt', 'decimal', 'NO', null, 18, 2, null],
      ['at', 'datetime2', 'NO', null, null, null, 7],
      ['rv', 'timestamp', 'NO', null, null, null, null],
      ['code', 'char', 'YES', 3, null, null, null],
    ],
  );
});
