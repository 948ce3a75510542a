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
  assert.ok(codec.pack(row));
  const at = [codec.slabs.lastSlab, codec.slabs.lastOffset] as const;
  // A second row in the same slab must not disturb the first (offsets are relative to each row).
  assert.ok(codec.pack([1n]));
  assert.equal(codec.slabs.lastSlab, at[0]);
  assert.deepEqual(codec.decodeAt(...at), row);
  row.forEach((v, i) => assert.deepEqual(codec.decodeOneAt(...at, i), v));
  // A shorter row (stored before ADD COLUMN) decodes with NULLs in the new slots.
  assert.deepEqual(codec.decodeAt(codec.slabs.lastSlab, codec.slabs.lastOffset).slice(0, 2), [1n, null]);
  // A value that does not fit the layout is refused (the row stays unpacked).
  assert.equal(codec.pack(['not a bigint']), false);
});

test('slabs: freed rows drop their slab, and compaction keeps memory proportional to live rows', () => {
  const codec = new RowCodec([{ name: 'bigint' }, { name: 'varchar', length: 8000 }]);
  const text = 'x'.repeat(4000);
  const rows: { slab: number; offset: number; id: bigint }[] = [];
  for (let i = 0; i < 10_000; i++) {
    codec.pack([BigInt(i), text]);
    rows.push({ slab: codec.slabs.lastSlab, offset: codec.slabs.lastOffset, id: BigInt(i) });
  }
  const full = codec.slabs.allocatedBytes;
  assert.ok(full >= 10_000 * 4000);
  // Free two rows of three: most bytes are dead, so a compaction is due.
  const kept = rows.filter((r, i) => {
    if (i % 3 === 0) return true;
    codec.free(r.slab, r.offset);
    return false;
  });
  assert.equal(codec.slabs.wantsCompaction, true);
  const firstNew = codec.slabs.startCompaction();
  for (const r of kept) {
    codec.slabs.move(r.slab, r.offset, codec.packedLength(r.slab, r.offset));
    r.slab = codec.slabs.lastSlab;
    r.offset = codec.slabs.lastOffset;
  }
  codec.slabs.finishCompaction(firstNew);
  assert.equal(codec.slabs.wantsCompaction, false);
  assert.ok(codec.slabs.allocatedBytes < full * 0.45, `${codec.slabs.allocatedBytes} of ${full}`);
  for (const r of kept) assert.deepEqual(codec.decodeAt(r.slab, r.offset), [r.id, text]);
});

test('packing copies short strings and 64-bit values byte for byte as Buffer#write and writeBigInt64LE did', () => {
  // The encoder copies strings of up to 64 characters by a loop and writes 64-bit integers through a DataView
  // (issue 14: cheaper at every commit); both sides of the 64-character boundary, Latin-1's edge, a lone
  // surrogate and the int64 extremes must decode to what was packed.
  const codec = new RowCodec([
    { name: 'varchar', length: 200 },
    { name: 'nvarchar', length: 200 },
    { name: 'bigint' },
    { name: 'decimal', precision: 19, scale: 0 },
    { name: 'time', scale: 7 },
  ]);
  for (const len of [0, 1, 63, 64, 65, 130]) {
    const latin = 'aÿ~\u0080'.repeat(40).slice(0, len);
    const wide = 'Ā\ud800☃x'.repeat(40).slice(0, len);
    for (const n of [-9223372036854775808n, -1n, 0n, 9223372036854775807n]) {
      const row: SqlValue[] = [latin, wide, n, { kind: 'decimal', unscaled: n, scale: 0 }, { kind: 'time', ticks: 1n }];
      assert.ok(codec.pack(row));
      assert.deepEqual(codec.decodeAt(codec.slabs.lastSlab, codec.slabs.lastOffset), row);
    }
  }
  // Beyond Latin-1 in a varchar slot, short or long, and beyond 64 bits in an integer slot: the row stays unpacked.
  assert.equal(codec.pack(['Ā', null, null, null, null]), false);
  assert.equal(codec.pack(['a'.repeat(100) + 'Ā', null, null, null, null]), false);
  assert.equal(codec.pack([null, null, 9223372036854775808n, null, null]), false);
});

test('integers and binary values decode exactly on both sides of the small-integer fast path', () => {
  // Decoding builds an integer that fits in 53 bits from one exact double, and copies short binary values byte by
  // byte (issue 14: a CDC read decodes an LSN, a seqval and an operation per change row); every boundary of both
  // shortcuts must give what readBigInt64LE and Buffer.from gave.
  const codec = new RowCodec([{ name: 'bigint' }, { name: 'varbinary', length: 100 }, { name: 'int' }]);
  const around = (x: bigint) => [x - 1n, x, x + 1n, -x - 1n, -x, -x + 1n];
  const ints = [
    0n,
    1n,
    ...around(1n << 31n),
    ...around(1n << 32n),
    ...around(0x100000n << 32n), // the fast path's bound
    ...around(1n << 52n),
    ...around(1n << 53n),
    -9223372036854775808n,
    9223372036854775807n,
  ];
  for (const n of ints)
    for (const len of [0, 1, 10, 32, 33, 100]) {
      const bytes = Buffer.from(Array.from({ length: len }, (_, i) => (i * 37 + len) & 0xff));
      const row: SqlValue[] = [n, bytes, n >= -2147483648n && n <= 2147483647n ? n : 7n];
      assert.ok(codec.pack(row));
      const at: [number, number] = [codec.slabs.lastSlab, codec.slabs.lastOffset];
      assert.deepEqual(codec.decodeAt(...at), row, `${n}, ${len} bytes`);
      assert.equal(codec.decodeOneAt(...at, 0), n);
      const copy = codec.decodeOneAt(...at, 1) as Buffer;
      assert.deepEqual(copy, bytes);
      copy.fill(0xee); // a copy: the packed row must not change with it
      assert.deepEqual(codec.decodeOneAt(...at, 1), bytes);
    }
});
