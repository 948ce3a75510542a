import { test } from 'node:test';
import assert from 'node:assert/strict';
import { engineWithClaims, connect, scalar, run } from './helpers.js';
import { decimalToString, convertValue, dec } from '../../../../sim/engine/values.js';
import { decimalResultType } from '../../../../sim/engine/types.js';

test('decimal arithmetic is exact with SQL Server result types', async () => {
  const s = await connect(engineWithClaims());
  const v = await scalar(s, 'SELECT CAST(12345678901234567890.0123456789 AS decimal(38,10)) * 2');
  // decimal(38,10) * int → decimal(38,6): SQL Server keeps the integral digits and cuts the scale to 6.
  assert.equal(decimalToString(v as never), '24691357802469135780.024691');
  assert.deepEqual(
    decimalResultType('*', { name: 'decimal', precision: 38, scale: 10 }, { name: 'decimal', precision: 10, scale: 0 }),
    { name: 'decimal', precision: 38, scale: 6 },
  );
  assert.deepEqual(
    decimalResultType('/', { name: 'decimal', precision: 10, scale: 2 }, { name: 'decimal', precision: 5, scale: 2 }),
    { name: 'decimal', precision: 18, scale: 8 },
  );
  assert.equal(
    await scalar(s, 'SELECT CAST(CAST(1 AS decimal(10,2)) / CAST(3 AS decimal(5,2)) AS varchar(40))'),
    '0.33333333',
  );
  assert.equal(await scalar(s, 'SELECT CAST(0.1 + 0.2 AS varchar(10))'), '0.3');
});

test('bigint arithmetic is exact and overflow is error 8115', async () => {
  const s = await connect(engineWithClaims());
  assert.equal(await scalar(s, 'SELECT CAST(9223372036854775806 AS bigint) + 1'), 9223372036854775807n);
  const r = await run(s, 'SELECT CAST(9223372036854775807 AS bigint) + 1');
  assert.equal(r.errors[0]?.number, 8115);
  assert.equal((await run(s, 'SELECT 2147483647 + 1')).errors[0]?.number, 8115);
  assert.equal((await run(s, 'SELECT 1 / 0')).errors[0]?.number, 8134);
  assert.equal(await scalar(s, 'SELECT 7 / 2'), 3n);
});

test('conversions follow CAST rules and raise SQL Server errors', async () => {
  const s = await connect(engineWithClaims());
  assert.equal((await run(s, "SELECT CAST('abc' AS int)")).errors[0]?.number, 245);
  assert.equal((await run(s, "SELECT CAST('abc' AS decimal(10,2))")).errors[0]?.number, 8114);
  assert.equal((await run(s, "SELECT CAST('2024-13-01' AS date)")).errors[0]?.number, 241);
  assert.equal(
    await scalar(s, "SELECT CAST(CAST('2024-01-02 03:04:05.1234567' AS datetime2(7)) AS varchar(40))"),
    '2024-01-02 03:04:05.1234567',
  );
  assert.equal(
    await scalar(s, "SELECT CAST(CAST('2024-01-02 03:04:05.999' AS datetime2(2)) AS varchar(40))"),
    '2024-01-02 03:04:06.00',
  );
  assert.equal(
    await scalar(s, "SELECT CONVERT(varchar(30), CAST('2024-01-02 10:00:00.002' AS datetime), 121)"),
    '2024-01-02 10:00:00.003',
  );
  assert.equal(await scalar(s, 'SELECT CAST(1.5 AS int)'), 1n);
  assert.equal(await scalar(s, 'SELECT CONVERT(varchar(20), 0x0AFF, 1)'), '0x0AFF');
  assert.deepEqual(await scalar(s, 'SELECT CAST(1 AS binary(4))'), Buffer.from([0, 0, 0, 1]));
  assert.equal(
    decimalToString(
      convertValue(
        dec(12345n, 3),
        { name: 'decimal', precision: 10, scale: 3 },
        { name: 'decimal', precision: 10, scale: 1 },
      ) as never,
    ),
    '12.3',
  );
});

test('string comparison is case-insensitive and ignores trailing spaces', async () => {
  const s = await connect(engineWithClaims());
  assert.equal(await scalar(s, "SELECT CASE WHEN 'abc' = 'ABC  ' THEN 1 ELSE 0 END"), 1n);
  assert.equal(await scalar(s, "SELECT CASE WHEN N'abc' LIKE 'A_C' THEN 1 ELSE 0 END"), 1n);
  assert.equal(await scalar(s, 'SELECT CASE WHEN NULL = NULL THEN 1 ELSE 0 END'), 0n);
});

test('HASHBYTES matches SHA-256 of the value bytes', async () => {
  const s = await connect(engineWithClaims());
  const h = (await scalar(s, "SELECT HASHBYTES('SHA2_256', 'abc')")) as Buffer;
  assert.equal(h.toString('hex'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
});

test('CONCAT is varchar unless an argument is Unicode, which changes HASHBYTES input bytes', async () => {
  const s = await connect(engineWithClaims());
  const v = (await scalar(
    s,
    "SELECT HASHBYTES('SHA2_256', CONCAT('a', 1, '|', CAST(2.50 AS decimal(5,2))))",
  )) as Buffer;
  const n = (await scalar(
    s,
    "SELECT HASHBYTES('SHA2_256', CONCAT(N'a', 1, '|', CAST(2.50 AS decimal(5,2))))",
  )) as Buffer;
  const { createHash } = await import('node:crypto');
  assert.equal(v.toString('hex'), createHash('sha256').update(Buffer.from('a1|2.50', 'latin1')).digest('hex'));
  assert.equal(n.toString('hex'), createHash('sha256').update(Buffer.from('a1|2.50', 'utf16le')).digest('hex'));
});
