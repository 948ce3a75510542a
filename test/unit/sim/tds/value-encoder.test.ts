/** Byte-exact tests of TYPE_INFO and value encodings (MS-TDS 2.2.5.5, 2.2.5.6), one per SqlType. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SqlType, SqlValue } from '../../../../sim/engine/api.js';
import { MessageWriter } from '../../../../sim/tds/message-writer.js';
import { planType, rescale } from '../../../../sim/tds/value-encoder.js';
import { hex } from './hex.js';

function check(type: SqlType, value: SqlValue, typeInfo: string, bytes: string): void {
  const plan = planType(type);
  assert.deepEqual(plan.typeInfo, hex(typeInfo), `TYPE_INFO of ${JSON.stringify(type)}`);
  const w = new MessageWriter({ write: () => true });
  w.begin();
  plan.encode(w, value as Exclude<SqlValue, null>);
  assert.deepEqual(Buffer.from(w.buf.subarray(0, w.pos)), hex(bytes), `value of ${JSON.stringify(type)}`);
}

const COLLATION = '09 04 d0 00 34';

test('integers: INTN with length 1/2/4/8', () => {
  check({ name: 'tinyint' }, 255n, '26 01', '01 ff');
  check({ name: 'smallint' }, -2n, '26 02', '02 fe ff');
  check({ name: 'int' }, -2147483648n, '26 04', '04 00 00 00 80');
  check({ name: 'bigint' }, -1n, '26 08', '08 ff ff ff ff ff ff ff ff');
  check({ name: 'bigint' }, 9223372036854775807n, '26 08', '08 ff ff ff ff ff ff ff 7f');
});

test('bit: BITN', () => {
  check({ name: 'bit' }, true, '68 01', '01 01');
  check({ name: 'bit' }, false, '68 01', '01 00');
});

test('decimal/numeric: sign byte and little-endian magnitude sized by precision', () => {
  // 12345.6789012345 at scale 10: unscaled 123456789012345 = 0x7048860DDF79.
  check(
    { name: 'decimal', precision: 38, scale: 10 },
    { kind: 'decimal', unscaled: 123456789012345n, scale: 10 },
    '6a 11 26 0a',
    '11 01 79 df 0d 86 48 70 00 00 00 00 00 00 00 00 00 00',
  );
  // The largest decimal(38,0), negative: 10^38 - 1.
  check(
    { name: 'decimal', precision: 38, scale: 0 },
    { kind: 'decimal', unscaled: -(10n ** 38n - 1n), scale: 0 },
    '6a 11 26 00',
    '11 00 ff ff ff ff 3f 22 8a 09 7a c4 86 5a a8 4c 3b 4b',
  );
  // numeric(5,2) -999.99; a value of scale 1 is widened exactly to the column's scale 2.
  check(
    { name: 'numeric', precision: 5, scale: 2 },
    { kind: 'decimal', unscaled: -99999n, scale: 2 },
    '6c 05 05 02',
    '05 00 9f 86 01 00',
  );
  check(
    { name: 'numeric', precision: 5, scale: 2 },
    { kind: 'decimal', unscaled: 15n, scale: 1 },
    '6c 05 05 02',
    '05 01 96 00 00 00',
  );
  check(
    { name: 'decimal', precision: 19, scale: 4 },
    { kind: 'decimal', unscaled: 1n, scale: 4 },
    '6a 09 13 04',
    '09 01 01 00 00 00 00 00 00 00',
  );
  check(
    { name: 'decimal', precision: 28, scale: 0 },
    { kind: 'decimal', unscaled: 0x1_0000_0000_0000_0000n, scale: 0 },
    '6a 0d 1c 00',
    '0d 01 00 00 00 00 00 00 00 00 01 00 00 00',
  );
});

test('rescale rounds half away from zero when narrowing', () => {
  assert.equal(rescale({ kind: 'decimal', unscaled: 125n, scale: 2 }, 1), 13n);
  assert.equal(rescale({ kind: 'decimal', unscaled: -125n, scale: 2 }, 1), -13n);
  assert.equal(rescale({ kind: 'decimal', unscaled: 124n, scale: 2 }, 1), 12n);
});

test('money: high 32 bits then low 32 bits; smallmoney: int32 (2.2.5.5.1.4)', () => {
  check({ name: 'money' }, { kind: 'decimal', unscaled: -10000n, scale: 4 }, '6e 08', '08 ff ff ff ff f0 d8 ff ff');
  check({ name: 'money' }, { kind: 'decimal', unscaled: 1n, scale: 0 }, '6e 08', '08 00 00 00 00 10 27 00 00');
  check({ name: 'smallmoney' }, { kind: 'decimal', unscaled: 15n, scale: 1 }, '6e 04', '04 98 3a 00 00');
});

test('float and real: FLTN 8 / 4', () => {
  check({ name: 'float', precision: 53 }, 1, '6d 08', '08 00 00 00 00 00 00 f0 3f');
  check({ name: 'real' }, 1, '6d 04', '04 00 00 80 3f');
});

test('char/varchar: code page 1252 bytes; nchar/nvarchar: UCS-2', () => {
  check({ name: 'varchar', length: 10 }, '€a', `a7 0a 00 ${COLLATION}`, '02 00 80 61');
  check({ name: 'char', length: 3 }, 'é  ', `af 03 00 ${COLLATION}`, '03 00 e9 20 20');
  check({ name: 'nvarchar', length: 50 }, 'Ω', `e7 64 00 ${COLLATION}`, '02 00 a9 03');
  check({ name: 'nchar', length: 1 }, 'a', `ef 02 00 ${COLLATION}`, '02 00 61 00');
});

test('(max) types: PLP with total length, one chunk, terminator (2.2.5.2.3)', () => {
  check(
    { name: 'nvarchar', length: -1 },
    'ab',
    `e7 ff ff ${COLLATION}`,
    '04 00 00 00 00 00 00 00 04 00 00 00 61 00 62 00 00 00 00 00',
  );
  check(
    { name: 'varchar', length: -1 },
    '€',
    `a7 ff ff ${COLLATION}`,
    '01 00 00 00 00 00 00 00 01 00 00 00 80 00 00 00 00',
  );
  check({ name: 'varbinary', length: -1 }, Buffer.alloc(0), 'a5 ff ff', '00 00 00 00 00 00 00 00 00 00 00 00');
});

test('binary/varbinary/rowversion: USHORTLEN; binary(n) pads with zeros', () => {
  check({ name: 'binary', length: 4 }, hex('aa bb'), 'ad 04 00', '04 00 aa bb 00 00');
  check(
    { name: 'binary', length: 10 },
    hex('00 00 00 25 00 00 01 f0 00 03'),
    'ad 0a 00',
    '0a 00 00 00 00 25 00 00 01 f0 00 03',
  );
  check({ name: 'varbinary', length: 10 }, hex('ff'), 'a5 0a 00', '01 00 ff');
  check({ name: 'rowversion' }, hex('00 00 00 00 00 00 07 d1'), 'ad 08 00', '08 00 00 00 00 00 00 00 07 d1');
});

test('uniqueidentifier: Data1..Data3 little-endian, Data4 in order (2.2.5.5.1.7)', () => {
  check(
    { name: 'uniqueidentifier' },
    '6F9619FF-8B86-D011-B42D-00C04FC964FF',
    '24 10',
    '10 ff 19 96 6f 86 8b 11 d0 b4 2d 00 c0 4f c9 64 ff',
  );
});

test('date: 3-byte day count since 0001-01-01', () => {
  check({ name: 'date' }, { kind: 'date', days: 0 }, '28', '03 00 00 00');
  check({ name: 'date' }, { kind: 'date', days: 3652058 }, '28', '03 da b9 37');
});

test('time(n): 3/4/5 bytes of 10^-n second units', () => {
  check({ name: 'time', scale: 7 }, { kind: 'time', ticks: 863999999999n }, '29 07', '05 ff bf 69 2a c9');
  check({ name: 'time', scale: 0 }, { kind: 'time', ticks: 37230000000n }, '29 00', '03 8b 0e 00');
  check({ name: 'time', scale: 3 }, { kind: 'time', ticks: 10000n }, '29 03', '04 01 00 00 00');
});

test('datetime: days since 1900 and 1/300 s units; smalldatetime: days and minutes', () => {
  // 2024-02-29 23:59:59.997: day 45349 since 1900-01-01, 25 919 999 units.
  check(
    { name: 'datetime' },
    { kind: 'datetime', days: 45349 + 693595, ticks: 863999970000n },
    '6f 08',
    '08 25 b1 00 00 ff 81 8b 01',
  );
  check({ name: 'datetime' }, { kind: 'datetime', days: 693595, ticks: 30000n }, '6f 08', '08 00 00 00 00 01 00 00 00');
  // 2079-06-06 23:59.
  check(
    { name: 'smalldatetime' },
    { kind: 'datetime', days: 65535 + 693595, ticks: 863400000000n },
    '6f 04',
    '04 ff ff 9f 05',
  );
});

test('datetime2(n): time then 3-byte days', () => {
  // 2024-02-29 23:59:59.1234567.
  check(
    { name: 'datetime2', scale: 7 },
    { kind: 'datetime', days: 738944, ticks: 863991234567n },
    '2a 07',
    '08 07 00 e4 29 c9 80 46 0b',
  );
  check(
    { name: 'datetime2', scale: 0 },
    { kind: 'datetime', days: 0, ticks: 10_000_000n },
    '2a 00',
    '06 01 00 00 00 00 00',
  );
});

test('datetimeoffset(n): UTC time, UTC days, offset minutes (i16)', () => {
  // 2024-01-01 06:30:00 UTC at +05:30.
  check(
    { name: 'datetimeoffset', scale: 7 },
    { kind: 'datetimeoffset', days: 738885, ticks: 234000000000n, offsetMinutes: 330 },
    '2b 07',
    '0a 00 a4 7c 7b 36 45 46 0b 4a 01',
  );
  check(
    { name: 'datetimeoffset', scale: 0 },
    { kind: 'datetimeoffset', days: 0, ticks: 0n, offsetMinutes: -840 },
    '2b 00',
    '08 00 00 00 00 00 00 b8 fc',
  );
});
