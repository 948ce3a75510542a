/**
 * Conformance: every type round-trips exactly through the `mssql` driver (SQL Server 2019 behaviour; runs against
 * a real server when TIDEMARK_CONFORMANCE_MSSQL is set, else against the simulator).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import sql from 'mssql';
import { startSqlTarget, uniqueName, type SqlTarget } from '../support/sql-target.js';

let target: SqlTarget;
let pool: sql.ConnectionPool;
const table = uniqueName('conf_types');

before(async () => {
  target = await startSqlTarget();
  pool = await target.connect();
  await pool.request().batch(`CREATE TABLE dbo.${table} (
    id int NOT NULL PRIMARY KEY,
    c_bit bit NULL, c_tinyint tinyint NULL, c_smallint smallint NULL, c_int int NULL, c_bigint bigint NULL,
    c_dec decimal(38,10) NULL, c_num numeric(9,2) NULL, c_money money NULL, c_float float NULL, c_real real NULL,
    c_char char(5) NULL, c_varchar varchar(20) NULL, c_nchar nchar(3) NULL, c_nvarchar nvarchar(50) NULL, c_nvmax nvarchar(max) NULL,
    c_bin8 binary(8) NULL, c_bin10 binary(10) NULL, c_varbin varbinary(16) NULL,
    c_date date NULL, c_time time(7) NULL, c_dt datetime NULL, c_dt2 datetime2(7) NULL, c_dto datetimeoffset(7) NULL,
    c_guid uniqueidentifier NULL, c_rv rowversion NOT NULL)`);
});

after(async () => {
  await pool?.request().batch(`DROP TABLE IF EXISTS dbo.${table}`);
  await pool?.close();
  await target?.stop();
});

test('literal values come back exactly', async () => {
  await pool.request()
    .batch(`INSERT INTO dbo.${table} (id, c_bit, c_tinyint, c_smallint, c_int, c_bigint, c_dec, c_num, c_money, c_float, c_real,
      c_char, c_varchar, c_nchar, c_nvarchar, c_nvmax, c_bin8, c_bin10, c_varbin, c_date, c_time, c_dt, c_dt2, c_dto, c_guid)
    VALUES (1, 1, 255, -32768, -2147483648, 9223372036854775807, 1234567890123456789012345678.0123456789, 1234567.89, 922337203685477.5807,
      1.5, 2.25, 'ab', 'hello', N'xyz', N'Grüße ☃', REPLICATE(CAST(N'a' AS nvarchar(max)), 5000), 0x0000000000000001, 0x00000025000001A80003, 0xDEADBEEF,
      '2024-02-29', '23:59:59.9999999', '2024-01-02 03:04:05.997', '2024-01-02 03:04:05.1234567', '2024-01-02 03:04:05.1234567 +05:30',
      '6F9619FF-8B86-D011-B42D-00C04FC964FF')`);
  const r = await pool.request()
    .query(`SELECT *, CAST(c_dec AS varchar(50)) AS dec_text, CAST(c_dt2 AS varchar(40)) AS dt2_text,
      CAST(c_dto AS varchar(40)) AS dto_text FROM dbo.${table} WHERE id = 1`);
  const row = r.recordset[0] as Record<string, unknown>;
  assert.equal(row.c_bit, true);
  assert.equal(row.c_tinyint, 255);
  assert.equal(row.c_smallint, -32768);
  assert.equal(row.c_int, -2147483648);
  assert.equal(row.c_bigint, '9223372036854775807'); // tedious returns bigint as a string
  assert.equal(row.dec_text, '1234567890123456789012345678.0123456789');
  assert.equal(row.c_num, 1234567.89);
  assert.equal(row.c_money, 922337203685477.6); // money arrives as a JS number
  assert.equal(row.c_float, 1.5);
  assert.equal(row.c_real, 2.25);
  assert.equal(row.c_char, 'ab   ');
  assert.equal(row.c_varchar, 'hello');
  assert.equal(row.c_nchar, 'xyz');
  assert.equal(row.c_nvarchar, 'Grüße ☃');
  assert.equal((row.c_nvmax as string).length, 5000);
  assert.ok(Buffer.isBuffer(row.c_bin8));
  assert.equal(row.c_bin8.length, 8);
  assert.equal(row.c_bin8.toString('hex'), '0000000000000001');
  assert.equal((row.c_bin10 as Buffer).length, 10);
  assert.equal((row.c_bin10 as Buffer).toString('hex'), '00000025000001a80003');
  assert.equal((row.c_varbin as Buffer).toString('hex'), 'deadbeef');
  assert.equal((row.c_date as Date).toISOString(), '2024-02-29T00:00:00.000Z');
  assert.equal((row.c_dt as Date).toISOString(), '2024-01-02T03:04:05.997Z');
  assert.equal(row.dt2_text, '2024-01-02 03:04:05.1234567');
  const dt2 = row.c_dt2 as Date & { nanosecondsDelta?: number };
  assert.equal(dt2.toISOString(), '2024-01-02T03:04:05.123Z');
  assert.equal(Math.round((dt2.nanosecondsDelta ?? 0) * 1e7), 4567); // the 100 ns digits
  assert.equal(row.dto_text, '2024-01-02 03:04:05.1234567 +05:30');
  assert.equal((row.c_dto as Date).toISOString(), '2024-01-01T21:34:05.123Z'); // tedious returns the UTC instant
  assert.equal(row.c_guid, '6F9619FF-8B86-D011-B42D-00C04FC964FF');
  assert.ok(Buffer.isBuffer(row.c_rv));
  assert.equal(row.c_rv.length, 8);
});

test('NULLs in every nullable column', async () => {
  await pool.request().batch(`INSERT INTO dbo.${table} (id) VALUES (2)`);
  const r = await pool.request().query(`SELECT * FROM dbo.${table} WHERE id = 2`);
  const row = r.recordset[0] as Record<string, unknown>;
  for (const [k, v] of Object.entries(row)) if (k !== 'id' && k !== 'c_rv') assert.equal(v, null, k);
});

test('typed parameters round-trip', async () => {
  const r = await pool
    .request()
    .input('i', sql.Int, -5)
    .input('b', sql.BigInt, '-9223372036854775808')
    .input('d', sql.Decimal(18, 4), 12345.6789)
    .input('s', sql.NVarChar(50), 'ünïcode')
    .input('v', sql.VarChar(10), 'abc')
    .input('bin', sql.VarBinary(10), Buffer.from('00000025000001a80003', 'hex'))
    .input('dt2', sql.DateTime2(7), new Date('2024-05-06T07:08:09.123Z'))
    .input('g', sql.UniqueIdentifier, '6F9619FF-8B86-D011-B42D-00C04FC964FF')
    .input('bit', sql.Bit, false)
    .input('n', sql.Int, null)
    .query(
      'SELECT @i AS i, @b AS b, CAST(@d AS varchar(30)) AS d, @s AS s, @v AS v, @bin AS bin, CAST(@dt2 AS varchar(40)) AS dt2, @g AS g, @bit AS bit, @n AS n',
    );
  const row = r.recordset[0] as Record<string, unknown>;
  assert.equal(row.i, -5);
  assert.equal(row.b, '-9223372036854775808');
  assert.equal(row.d, '12345.6789');
  assert.equal(row.s, 'ünïcode');
  assert.equal(row.v, 'abc');
  assert.equal((row.bin as Buffer).toString('hex'), '00000025000001a80003');
  assert.equal(row.dt2, '2024-05-06 07:08:09.1230000');
  assert.equal(row.g, '6F9619FF-8B86-D011-B42D-00C04FC964FF');
  assert.equal(row.bit, false);
  assert.equal(row.n, null);
});
