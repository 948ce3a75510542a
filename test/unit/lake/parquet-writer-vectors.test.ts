import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DuckDBInstance } from '@duckdb/node-api';
import { ParquetWriter } from '../../../src/lake/parquet-writer.js';
import { packColumn } from '../../../src/lake/parquet-writer-thread.js';
import { LakeValueError } from '../../../src/lake/lake-types.js';
import type { LakeColumn, LakeValue } from '../../../src/domain/values.js';
import { tempDir } from '../../support/lake.js';

// The writer fills DuckDB's vectors itself (parquet-writer-vectors.ts): inline strings of up to 12 bytes, 128-bit
// decimals from doubles, validity masks. Each edge of that layout, read back by DuckDB as text.
const columns: LakeColumn[] = [
  { name: 'id', type: { kind: 'int32' }, nullable: false },
  { name: 's', type: { kind: 'string' }, nullable: true },
  { name: 'b', type: { kind: 'binary' }, nullable: true },
  { name: 'd4', type: { kind: 'decimal', precision: 4, scale: 2 }, nullable: true },
  { name: 'd9', type: { kind: 'decimal', precision: 9, scale: 2 }, nullable: true },
  { name: 'd18', type: { kind: 'decimal', precision: 18, scale: 4 }, nullable: true },
  { name: 'd19', type: { kind: 'decimal', precision: 19, scale: 4 }, nullable: true },
  { name: 'd38', type: { kind: 'decimal', precision: 38, scale: 0 }, nullable: true },
  { name: 'u', type: { kind: 'uuid' }, nullable: true },
  { name: 'ts', type: { kind: 'timestamp', fractionalDigits: 7 }, nullable: true },
  { name: 'tz', type: { kind: 'timestamptz', fractionalDigits: 7 }, nullable: true },
  { name: 'f32', type: { kind: 'float32' }, nullable: true },
  { name: 'flag', type: { kind: 'boolean' }, nullable: true },
  { name: 'tiny', type: { kind: 'uint8' }, nullable: true },
  { name: 'day', type: { kind: 'date' }, nullable: true },
  { name: 'clock', type: { kind: 'time', fractionalDigits: 3 }, nullable: true },
];

const edgeStrings = [
  '',
  'twelve chars',
  'thirteen char',
  'é',
  'a\u0000b',
  'tab\tnew\nline "q" \'q\' \\',
  '𝄞 clef',
  'x'.repeat(300),
];
/** DuckDB's text of {@link edgeDecimals} at the columns' scales. */
const DECIMAL_TEXT = [
  ['-99.99', '-9999999.99', '-99999999999999.9999', '-99999999999.9999', '-1'],
  ['0.00', '0.00', '0.0000', '0.0000', '0'],
  ['1.50', '12.30', '-0.0001', '-4294967296.0001', '-18446744073709551616'],
  ['99.99', '9999999.99', '99999999999999.9999', '999999999999999.9999', '99999999999999999999999999999999999999'],
];
const edgeDecimals: [string, string, string, string, string][] = [
  ['-99.99', '-9999999.99', '-99999999999999.9999', '-99999999999.9999', '-1'],
  ['0', '0.00', '0', '0.0000', '0'],
  ['1.5', '12.3', '-0.0001', '-4294967296.0001', '-18446744073709551616'],
  ['99.99', '9999999.99', '99999999999999.9999', '999999999999999.9999', '99999999999999999999999999999999999999'],
];

function row(i: number): LakeValue[] {
  // NULL rows in the first two chunks only: the third has none (its validity masks start all-valid again).
  if (i % 11 === 5 && i < 4096) return [i, ...columns.slice(1).map(() => null)];
  const dec = edgeDecimals[i % edgeDecimals.length]!;
  return [
    i,
    edgeStrings[i % edgeStrings.length]!,
    new Uint8Array(i % 20).fill(i % 256),
    dec[0],
    dec[1],
    dec[2],
    dec[3],
    { unscaled: BigInt(dec[4]), scale: 0 },
    i % 2 === 0 ? `0000000${i % 10}-AbCd-2222-3333-444444444444` : `0000000${i % 10}-abcd-2222-3333-444444444444`,
    -1_000_000_000_000_000_100n * BigInt(i % 3) + BigInt(i) * 100n,
    { epochNanos: 1_763_000_000_000_000_000n - BigInt(i) * 1_000_000_300n, offsetMinutes: (i % 57) * 30 - 840 },
    i / 7,
    i % 3 === 0,
    i % 256,
    i % 2 === 0 ? -719_162 + i : '1999-12-31',
    BigInt(i % 86_400) * 1_000_000_000n + 5_000_000n,
  ];
}

/** Every row as DuckDB reads it back, as text (the blob as hex, timestamps as epoch microseconds), by id. */
async function readBack(path: string): Promise<string[][]> {
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    const r = await conn.runAndReadAll(
      `select id, s, hex(b), d4, d9, d18, d19, d38, u, epoch_us(ts), ts__100ns, epoch_us(tz.utc), tz.offset_minutes,
         tz__100ns, f32, flag, tiny, day, clock
       from read_parquet('${path}') order by id`,
    );
    return r.getRows().map((cells) => cells.map((c) => (c === null ? 'NULL' : String(c))));
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

test('the packed path and the row path store the same values, exactly, across chunks with and without NULLs', async () => {
  const n = 5000; // three chunks: NULLs in each; strings inline, long, non-ASCII; decimals at every width
  const rows = Array.from({ length: n }, (_v, i) => row(i));
  const dir = { path: tempDir() };
  const byRow = await ParquetWriter.create({ columns, dir: dir.path, fileName: () => 'rows.parquet' });
  for (const r of rows) await byRow.append('p', r);
  const [rowPart] = await byRow.finish();
  const packed = await ParquetWriter.create({ columns, dir: dir.path, fileName: () => 'packed.parquet' });
  for (let b = 0; b < n; b += 2048) {
    const batch = rows.slice(b, b + 2048);
    const cols = columns.map((_c, i) => packColumn(batch.map((r) => r[i] ?? null)));
    await packed.appendPacked('p', cols, new Int32Array(cols.length), 0, batch.length);
  }
  const [packedPart] = await packed.finish();
  const a = await readBack(rowPart!.localPath);
  const b = await readBack(packedPart!.localPath);
  assert.deepEqual(b, a);

  // The values themselves, exactly.
  const hex = (u: Uint8Array) => Buffer.from(u).toString('hex').toUpperCase();
  const floorDiv = (x: bigint, d: bigint) => (x >= 0n ? x / d : -((-x + d - 1n) / d));
  const digit100ns = (x: bigint) => String(Math.floor(Number(((x % 1000n) + 1000n) % 1000n) / 100));
  for (const r of a) {
    const i = Number(r[0]);
    const v = rows[i]!;
    if (v[1] === null) {
      assert.deepEqual(
        r.slice(1),
        r.slice(1).map(() => 'NULL'),
        `row ${i} is NULL but its id`,
      );
      continue;
    }
    const ts = v[9] as bigint;
    const tz = v[10] as { epochNanos: bigint; offsetMinutes: number };
    assert.deepEqual(
      r.slice(1, 14),
      [
        v[1],
        hex(v[2] as Uint8Array),
        ...DECIMAL_TEXT[i % DECIMAL_TEXT.length]!,
        (v[8] as string).toLowerCase(),
        String(floorDiv(ts, 1000n)),
        digit100ns(ts),
        String(floorDiv(tz.epochNanos, 1000n)),
        String(tz.offsetMinutes),
        digit100ns(tz.epochNanos),
      ],
      `row ${i}`,
    );
  }
});

test('a value refused in the packed path fails with the column named', async () => {
  const dir = { path: tempDir() };
  const w = await ParquetWriter.create({ columns, dir: dir.path });
  const rows = [row(0), row(1)];
  rows[1]![4] = '1.234'; // d9 has 2 fractional digits
  const cols = columns.map((_c, i) => packColumn(rows.map((r) => r[i] ?? null)));
  await assert.rejects(
    w.appendPacked('p', cols, new Int32Array(cols.length), 0, 2),
    (e: unknown) => e instanceof LakeValueError && e.column === 'd9',
  );
  w.close();
});

test('int64, number and binary columns travel as typed arrays, and land exactly as their values at the edges', async () => {
  // A batch's bigint, number and byte values cross to the writer thread as typed arrays (transferred, not cloned
  // value by value); a value such an array cannot hold exactly keeps its column in the plain form.
  const edges: LakeColumn[] = [
    { name: 'id', type: { kind: 'int32' }, nullable: false },
    { name: 'i64', type: { kind: 'int64' }, nullable: true },
    { name: 'ts', type: { kind: 'timestamp', fractionalDigits: 7 }, nullable: true },
    { name: 'i16', type: { kind: 'int16' }, nullable: true },
    { name: 'f64', type: { kind: 'float64' }, nullable: true },
    { name: 'day', type: { kind: 'date' }, nullable: true },
    { name: 'bin', type: { kind: 'binary' }, nullable: true },
    { name: 'flag', type: { kind: 'boolean' }, nullable: true },
  ];
  const pool = Buffer.from(Array.from({ length: 64 }, (_v, k) => (k * 37) & 0xff));
  const i64s = [-(2n ** 63n), 2n ** 63n - 1n, 0n, -1n, null];
  // datetime2(7) at 0001-01-01 and 9999-12-31 23:59:59.9999999 are beyond int64 nanoseconds: plain values.
  const farTs = [-62_135_596_800_000_000_000n, 253_402_300_799_999_999_900n];
  const nums = [-32768, 32767, 0, null];
  const floats = [-0, 1.7976931348623157e308, 5e-324, -2.5, null];
  const days = [-719_162, 2_932_896, 0, null];
  const bins = [new Uint8Array(0), pool.subarray(3, 15), pool.subarray(40, 53), Buffer.from('ab'), null];
  const rows: LakeValue[][] = Array.from({ length: 3000 }, (_v, i) => [
    i,
    i64s[i % i64s.length]!,
    i >= 2048 && i % 2 === 0
      ? farTs[i % 4 === 0 ? 0 : 1]!
      : i % 9 === 4
        ? null
        : 1_763_000_000_123_456_700n + BigInt(i) * 100n,
    nums[i % nums.length]!,
    floats[i % floats.length]!,
    days[i % days.length]!,
    bins[i % bins.length]!,
    i % 3 === 2 ? null : i % 2 === 0,
  ]);
  const first = rows.slice(0, 2048);
  const packed = (i: number) => packColumn(first.map((r) => r[i] ?? null));
  assert.ok('int64' in packed(1) && 'int64' in packed(2), 'bigint columns as a BigInt64Array');
  assert.ok('float64' in packed(3) && 'float64' in packed(4) && 'float64' in packed(5), 'numbers as a Float64Array');
  assert.ok('bytes' in packed(6), 'binary values end to end');
  assert.ok('values' in packColumn(rows.slice(2048).map((r) => r[2] ?? null)), 'out of int64: plain values');

  const dir = tempDir();
  const byRow = await ParquetWriter.create({ columns: edges, dir, fileName: () => 'rows.parquet' });
  for (const r of rows) await byRow.append('p', r);
  const [rowPart] = await byRow.finish();
  const byBatch = await ParquetWriter.create({ columns: edges, dir, fileName: () => 'packed.parquet' });
  for (let b = 0; b < rows.length; b += 2048) {
    const batch = rows.slice(b, b + 2048);
    const cols = edges.map((_c, i) => packColumn(batch.map((r) => r[i] ?? null)));
    await byBatch.appendPacked('p', cols, new Int32Array(cols.length), 0, batch.length);
  }
  const [packedPart] = await byBatch.finish();
  const read = async (path: string) => {
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    try {
      const r = await conn.runAndReadAll(
        `select id, i64, epoch_us(ts), ts__100ns, i16, f64, day, hex(bin), flag from read_parquet('${path}') order by id`,
      );
      return r.getRows().map((cells) => cells.map((c) => (c === null ? 'NULL' : String(c))));
    } finally {
      conn.closeSync();
      db.closeSync();
    }
  };
  const a = await read(rowPart!.localPath);
  assert.deepEqual(await read(packedPart!.localPath), a);
  const hex = (u: Uint8Array) => Buffer.from(u).toString('hex').toUpperCase();
  assert.deepEqual(a[1], [
    '1',
    String(2n ** 63n - 1n),
    '1763000000123456',
    '8',
    '32767',
    '1.7976931348623157e+308',
    '9999-12-31',
    hex(pool.subarray(3, 15)),
    'false',
  ]);
  assert.deepEqual(a[2], [
    '2',
    '0',
    '1763000000123456',
    '9',
    '0',
    '5e-324',
    '1970-01-01',
    hex(pool.subarray(40, 53)),
    'NULL',
  ]);
  assert.deepEqual(a[0]!.slice(4, 8), ['-32768', '0', '0001-01-01', '']);
  assert.deepEqual(a[4]!.slice(1, 8), ['NULL', 'NULL', 'NULL', '-32768', 'NULL', '0001-01-01', 'NULL']);
  assert.deepEqual(a[2048]!.slice(2, 4), [String(-62_135_596_800_000_000n), '0']);
  assert.deepEqual(a[2050]!.slice(2, 4), [String(253_402_300_799_999_999n), '9']);
});
