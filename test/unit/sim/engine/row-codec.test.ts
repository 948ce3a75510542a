import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RowCodec } from '../../../../sim/engine/row-codec.js';
import type { SqlType, SqlValue } from '../../../../sim/engine/api.js';

test('packed rows decode to the exact values, per row and per slot', () => {
  const types: (SqlType | undefined)[] = [
    { name: 'bigint' },
    { name: 'bit' },
    { name: 'decimal', precision: 38, scale: 10 },
    { name: 'decimal', precision: 9, scale: 2 },
    { name: 'float', precision: 53 },
    { name: 'varchar', length: 20 },
    { name: 'nvarchar', length: -1 },
    { name: 'binary', length: 8 },
    { name: 'date' },
    { name: 'time', scale: 7 },
    { name: 'datetime2', scale: 7 },
    { name: 'datetimeoffset', scale: 7 },
    undefined, // a dropped column's slot
    { name: 'uniqueidentifier' },
    { name: 'int' },
  ];
  const row: SqlValue[] = [
    -9223372036854775808n,
    true,
    { kind: 'decimal', unscaled: 12345678901234567890123456789012345678n, scale: 10 },
    { kind: 'decimal', unscaled: -150n, scale: 2 },
    0.1,
    'héllo',
    'Grüße ☃ 𝄞',
    Buffer.from('00000000000007e3', 'hex'),
    { kind: 'date', days: 738_886 },
    { kind: 'time', ticks: 863_999_999_999n },
    { kind: 'datetime', days: 738_886, ticks: 110_451_234_567n },
    { kind: 'datetimeoffset', days: 738_886, ticks: 1n, offsetMinutes: -330 },
    null,
    '6F9619FF-8B86-D011-B42D-00C04FC964FF',
    null,
  ];
  const codec = new RowCodec(types);
  const packed = codec.encode(row);
  assert.ok(packed);
  assert.deepEqual(codec.decode(packed), row);
  row.forEach((v, i) => assert.deepEqual(codec.decodeOne(packed, i), v));
  // A shorter row (stored before ADD COLUMN) decodes with NULLs in the new slots.
  assert.deepEqual(codec.decode(codec.encode([1n]) as Buffer).slice(0, 2), [1n, null]);
  // A value that does not fit the layout is refused (the row stays unpacked).
  assert.equal(codec.encode(['not a bigint']), undefined);
});
