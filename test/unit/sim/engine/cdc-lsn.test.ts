/** The CDC LSN scheme and update masks: pure functions. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  afterCommitLsn,
  commitLsn,
  decrementLsn,
  incrementLsn,
  lsnFromBuffer,
  lsnText,
  lsnToBuffer,
  seqvalLsn,
} from '../../../../sim/engine/cdc/lsn.js';
import { maskBitSet, maskBytes, setMaskBit } from '../../../../sim/engine/cdc/capture.js';

test('LSNs are 10-byte big-endian and round-trip', () => {
  const n = commitLsn(0x1234);
  const b = lsnToBuffer(n);
  assert.equal(b.length, 10);
  assert.equal(lsnFromBuffer(b), n);
  assert.equal(lsnText(n), '00000000:12348000:0000');
});

test('byte order is numeric order: seqvals < commit < after-commit < next transaction', () => {
  const order = [seqvalLsn(7, 1), seqvalLsn(7, 2), commitLsn(7), afterCommitLsn(7), seqvalLsn(8, 1), commitLsn(8)];
  for (let i = 1; i < order.length; i++) {
    const a = lsnToBuffer(order[i - 1] as bigint);
    const b = lsnToBuffer(order[i] as bigint);
    assert.equal(Buffer.compare(a, b), -1);
  }
});

test('increment and decrement are adjacent and saturate', () => {
  const n = commitLsn(9);
  assert.equal(decrementLsn(incrementLsn(n)), n);
  assert.equal(decrementLsn(0n), 0n);
  assert.equal(incrementLsn(2n ** 80n - 1n), 2n ** 80n - 1n);
});

test('update mask: ordinal 1 is the lowest bit of the last byte', () => {
  const m = Buffer.alloc(maskBytes(10));
  assert.equal(m.length, 2);
  setMaskBit(m, 1);
  setMaskBit(m, 9);
  assert.deepEqual([...m], [0x01, 0x01]);
  assert.ok(maskBitSet(m, 9) && !maskBitSet(m, 2));
});
