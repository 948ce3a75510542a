import { test } from 'node:test';
import { statSync } from 'node:fs';
import assert from 'node:assert/strict';
import { DuckDBInstance } from '@duckdb/node-api';
import { ParquetWriter } from '../../../src/lake/parquet-writer.js';
import { LakeValueError } from '../../../src/lake/lake-types.js';
import { type LakeColumn, type LakeValue } from '../../../src/domain/values.js';
import { PARQUET_CODECS, type ParquetCompression } from '../../../src/config/types.js';
import { tempDir } from '../../support/lake.js';

const columns: LakeColumn[] = [
  { name: 'id', type: { kind: 'int64' }, nullable: false },
  { name: 'amount', type: { kind: 'decimal', precision: 19, scale: 4 }, nullable: true },
];

async function query(sql: string): Promise<Record<string, unknown>[]> {
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    return (await conn.runAndReadAll(sql)).getRowObjectsJson();
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

test('parts are bounded by partRows, per partition, ZSTD-compressed, and hold every row', async () => {
  const dir = tempDir();
  const w = await ParquetWriter.create({ columns, dir, partRows: 1000, maxBufferedRows: 10_000 });
  for (let i = 0; i < 2500; i++) await w.append(i % 5 === 0 ? 'b' : 'a', [BigInt(i), `${i}.0001`]);
  const parts = await w.finish();
  assert.deepEqual(
    parts.map((p) => [p.partition, p.partIndex, p.rows]),
    [
      ['a', 0, 1000],
      ['a', 1, 1000],
      ['b', 0, 500],
    ],
  );
  const [row] = await query(
    `select count(*)::int n, sum(amount)::varchar s, count(distinct id)::int d from read_parquet('${dir}/*.parquet')`,
  );
  assert.deepEqual(row, { n: 2500, s: '3123750.2500', d: 2500 });
  const codecs = await query(`select distinct compression from parquet_metadata('${parts[0]?.localPath ?? ''}')`);
  assert.deepEqual(codecs, [{ compression: 'ZSTD' }]);
});

test('maxBufferedRows bounds memory across partitions by flushing the fullest early', async () => {
  const dir = tempDir();
  const w = await ParquetWriter.create({ columns, dir, partRows: 1000, maxBufferedRows: 300 });
  for (let i = 0; i < 900; i++) await w.append(`p${i % 3}`, [BigInt(i), null]);
  const parts = await w.finish();
  assert.ok(parts.length >= 3);
  assert.equal(
    parts.reduce((n, p) => n + p.rows, 0),
    900,
  );
});

test('inexact or mistyped values are refused with the column named', async () => {
  const w = await ParquetWriter.create({ columns, dir: tempDir() });
  try {
    await assert.rejects(
      async () => w.append('a', [1, '1']),
      (e: unknown) => e instanceof LakeValueError && e.column === 'id',
    );
    await assert.rejects(
      async () => w.append('a', [1n, 1.5]),
      (e: unknown) => e instanceof LakeValueError && e.column === 'amount',
    );
    await assert.rejects(async () => w.append('a', [null, '1']), /non-nullable/);
  } finally {
    w.close();
  }
});

test('a row refused half-way leaves no trace, and the caller may reuse its row array', async () => {
  // Rows are written straight into DuckDB's chunk vectors, column by column: a value refused after earlier columns
  // were written must not leave them in the file, nor shift the rows after it. 7-digit timestamps also write a
  // companion column, and the last chunk is partial.
  const cols: LakeColumn[] = [
    { name: 'id', type: { kind: 'int64' }, nullable: false },
    { name: 'at', type: { kind: 'timestamp', fractionalDigits: 7 }, nullable: true },
    { name: 'name', type: { kind: 'string' }, nullable: true },
    { name: 'amount', type: { kind: 'decimal', precision: 9, scale: 2 }, nullable: false },
  ];
  const dir = tempDir();
  const w = await ParquetWriter.create({ columns: cols, dir, partRows: 5000 });
  const row: LakeValue[] = [];
  const expected: string[] = [];
  for (let i = 0; i < 3000; i++) {
    row[0] = BigInt(i);
    row[1] = i % 5 === 0 ? null : 1_764_000_000_000_000_000n + BigInt(i) * 100n;
    row[2] = i % 3 === 0 ? null : `n${i}`;
    row[3] = i % 7 === 0 ? '1.234' : (i / 4).toFixed(2); // every 7th row: one digit too many, refused
    if (i % 7 === 0) {
      await assert.rejects(async () => w.append('a', row), LakeValueError);
      continue;
    }
    await w.append('a', row);
    expected.push(`${i}|${row[1] === null ? '' : `${row[1] / 1000n}.${i % 10}`}|${row[2] ?? ''}|${row[3]}`);
  }
  await w.finish();
  const got = await query(
    `select id::varchar || '|' || coalesce(epoch_us("at")::varchar || '.' || at__100ns::varchar, '') || '|' ||
       coalesce(name, '') || '|' || amount::varchar as r from read_parquet('${dir}/*.parquet') order by id`,
  );
  assert.deepEqual(
    got.map((g) => g.r),
    expected,
  );
});

test('each allowed codec writes the same values, and the file records its codec (zstd when not told)', async () => {
  const cols: LakeColumn[] = [
    { name: 'id', type: { kind: 'int64' }, nullable: false },
    { name: 'amount', type: { kind: 'decimal', precision: 19, scale: 4 }, nullable: true },
    { name: 'at', type: { kind: 'timestamp', fractionalDigits: 7 }, nullable: true },
    { name: 'note', type: { kind: 'string' }, nullable: true },
    { name: 'raw', type: { kind: 'binary' }, nullable: true },
  ];
  const rows = (i: number): LakeValue[] => [
    BigInt(i) * 9_007_199_254_741n,
    i % 7 === 0 ? null : `${i}.${String(i % 10_000).padStart(4, '0')}`,
    i % 5 === 0 ? null : 1_732_400_000_123_456_700n + BigInt(i) * 100n,
    i % 3 === 0 ? null : `line ${i} — ${'x'.repeat(i % 40)}`,
    i % 4 === 0 ? null : Buffer.from([i & 0xff, (i >> 8) & 0xff, 0]),
  ];
  const write = async (compression?: ParquetCompression): Promise<string> => {
    const w = await ParquetWriter.create({
      columns: cols,
      dir: tempDir(),
      rowGroupRows: 2048,
      ...(compression ? { compression } : {}),
    });
    for (let i = 0; i < 5000; i++) await w.append('p', rows(i));
    const [part] = await w.finish();
    assert.ok(part);
    return part.localPath;
  };
  const codecOf = async (file: string) =>
    (await query(`select distinct compression from parquet_metadata('${file}')`)).map((r) => r.compression);
  const byDefault = await write();
  assert.deepEqual(await codecOf(byDefault), ['ZSTD']);
  const cases: [ParquetCompression, string][] = [
    ...PARQUET_CODECS.map((codec): [ParquetCompression, string] => [{ codec }, codec.toUpperCase()]),
    [{ codec: 'zstd', level: 1 }, 'ZSTD'],
    [{ codec: 'zstd', level: 19 }, 'ZSTD'],
  ];
  const sizes = new Map<string, number>();
  for (const [compression, recorded] of cases) {
    const file = await write(compression);
    sizes.set(JSON.stringify(compression), statSync(file).size);
    assert.deepEqual(await codecOf(file), [recorded], JSON.stringify(compression));
    const [diff] = await query(
      `select (select count(*) from (from '${file}' except all from '${byDefault}'))::int +
              (select count(*) from (from '${byDefault}' except all from '${file}'))::int as n,
              (select count(*) from '${file}')::int as rows`,
    );
    assert.deepEqual(diff, { n: 0, rows: 5000 }, JSON.stringify(compression));
  }
  // The level reaches the encoder: the same rows at level 1 and 19 are different files.
  assert.notEqual(sizes.get('{"codec":"zstd","level":1}'), sizes.get('{"codec":"zstd","level":19}'));
});
