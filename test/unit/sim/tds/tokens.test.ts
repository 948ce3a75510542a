/** Byte-exact tests of the token encoders (MS-TDS 2.2.7). Expected bytes are written out from the spec. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MessageWriter } from '../../../../sim/tds/message-writer.js';
import {
  writeAttentionAck,
  writeColMetadata,
  writeDone,
  writeEnvChangeBytes,
  writeEnvChangeRouting,
  writeEnvChangeString,
  writeInfoError,
  writeLoginAck,
  writeReturnStatus,
  writeRow,
} from '../../../../sim/tds/tokens.js';
import { planColumn } from '../../../../sim/tds/value-encoder.js';
import type { ColumnMeta } from '../../../../sim/engine/api.js';
import { hex } from './hex.js';

function encode(write: (w: MessageWriter) => void): Buffer {
  const w = new MessageWriter({ write: () => true });
  w.begin();
  write(w);
  return Buffer.from(w.buf.subarray(0, w.pos));
}

test('DONE: status, CurCmd, u64 row count (2.2.7.6)', () => {
  assert.deepEqual(
    encode((w) => writeDone(w, 0xfd, 0x0011, 5n, 0xc1)),
    hex('fd 11 00 c1 00 05 00 00 00 00 00 00 00'),
  );
  assert.deepEqual(
    encode((w) => writeDone(w, 0xff, 0x0001, 0x1_0000_0000n)),
    hex('ff 01 00 00 00 00 00 00 00 01 00 00 00'),
  );
  assert.deepEqual(encode(writeAttentionAck), hex('fd 20 00 00 00 00 00 00 00 00 00 00 00'));
});

test('ENVCHANGE database: B_VARCHAR new and old values (2.2.7.9)', () => {
  assert.deepEqual(
    encode((w) => writeEnvChangeString(w, 1, 'db', 'master')),
    hex('e3 13 00 01 02 64 00 62 00 06 6d 00 61 00 73 00 74 00 65 00 72 00'),
  );
});

test('ENVCHANGE begin transaction: 8-byte descriptor as new value, empty old value', () => {
  assert.deepEqual(
    encode((w) => writeEnvChangeBytes(w, 8, hex('01 02 03 04 05 06 07 08'), Buffer.alloc(0))),
    hex('e3 0b 00 08 08 01 02 03 04 05 06 07 08 00'),
  );
});

test('ENVCHANGE routing: protocol 0, port, UCS-2 server, empty old value', () => {
  assert.deepEqual(
    encode((w) => writeEnvChangeRouting(w, 'h', 1433)),
    hex('e3 0c 00 14 07 00 00 99 05 01 00 68 00 00 00'),
  );
});

test('INFO: number, state, class, message, server, proc, line (2.2.7.13)', () => {
  const bytes = encode((w) =>
    writeInfoError(w, 0xab, {
      number: 5701,
      state: 2,
      severity: 0,
      message: 'ok',
      serverName: 'S',
      procName: '',
      lineNumber: 1,
    }),
  );
  assert.deepEqual(bytes, hex('ab 14 00 45 16 00 00 02 00 02 00 6f 00 6b 00 01 53 00 00 01 00 00 00'));
});

test('LOGINACK: interface 1, TDS 7.4 big-endian, ProgName, version 15.0.2000', () => {
  assert.deepEqual(
    encode((w) => writeLoginAck(w, 'S', { major: 15, minor: 0, build: 2000 })),
    hex('ad 0c 00 01 74 00 00 04 01 53 00 0f 00 07 d0'),
  );
});

test('RETURNSTATUS', () => {
  assert.deepEqual(
    encode((w) => writeReturnStatus(w, -1)),
    hex('79 ff ff ff ff'),
  );
});

const INT_COLUMN: ColumnMeta = { name: 'x', type: { name: 'int' }, nullable: false };

test('COLMETADATA: count, UserType u32, Flags, TYPE_INFO, name (2.2.7.4)', () => {
  const rv: ColumnMeta = { name: 'rv', type: { name: 'rowversion' }, nullable: false, isRowversion: true };
  const nullable: ColumnMeta = { name: 'n', type: { name: 'nvarchar', length: 5 }, nullable: true };
  assert.deepEqual(
    encode((w) => writeColMetadata(w, [INT_COLUMN, rv, nullable].map(planColumn), ['x', 'rv', 'n'])),
    hex(`81 03 00
      00 00 00 00 08 00 26 04 01 78 00
      50 00 00 00 00 00 ad 08 00 02 72 00 76 00
      00 00 00 00 09 00 e7 0a 00 09 04 d0 00 34 01 6e 00`),
  );
});

test('ROW carries every value', () => {
  assert.deepEqual(
    encode((w) => writeRow(w, [planColumn(INT_COLUMN)], [1n])),
    hex('d1 04 01 00 00 00'),
  );
});

test('NBCROW: 10 columns with NULLs in 0 and 9 → 2-byte bitmap 01 02, NULLs omitted (2.2.7.17)', () => {
  const plans = Array.from({ length: 10 }, () => planColumn({ ...INT_COLUMN, nullable: true }));
  const row = [null, 1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, null];
  assert.deepEqual(
    encode((w) => writeRow(w, plans, row)),
    hex(`d2 01 02
      04 01 00 00 00 04 02 00 00 00 04 03 00 00 00 04 04 00 00 00
      04 05 00 00 00 04 06 00 00 00 04 07 00 00 00 04 08 00 00 00`),
  );
});
