/**
 * A window's control sums from its pieces' (segments of one read, sub-ranges of a split window): exact text as
 * DuckDB writes a sum, and unknown — so validation sums the files — as soon as one piece has none.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addControlSums } from '../../../src/domain/decimal-sum.js';
import { mergeSubRangeStagings, type SubRangeStaging } from '../../../src/domain/staged.js';
import { addSegmentSums, freshProgress } from '../../../src/capture/stage-progress.js';

test('pieces add up exactly: decimals at their scale, integers beyond 2^53, NULL pieces add nothing', () => {
  const big = (2n ** 60n).toString();
  const sums = addControlSums([
    { billed: '100.10', units: big, never: null, late: null },
    { billed: '-100.15', units: big, never: null, late: '-0.000001' },
    { billed: null, units: '-1', never: null, late: null },
  ]);
  assert.deepEqual(sums, { billed: '-0.05', units: (2n ** 61n - 1n).toString(), never: null, late: '-0.000001' });
});

test('one piece without sums, or with other columns, makes the sums unknown', () => {
  assert.equal(addControlSums([{ a: '1' }, undefined]), undefined);
  assert.equal(addControlSums([{ a: '1' }, { b: '1' }]), undefined);
  assert.equal(addControlSums([{ a: '1' }, { a: '1', b: '2' }]), undefined);
});

const part = (id: string, controlSums?: Record<string, string | null>): SubRangeStaging => ({
  attemptId: id,
  schemaVersion: 1,
  files: [],
  rows: 0,
  opCounts: { c: 0, u: 0, d: 0, r: 0 },
  minPosition: null,
  maxPosition: null,
  durationMs: 1,
  ...(controlSums ? { controlSums } : {}),
});

test("a split window's staging adds its sub-ranges' sums; a part staged without them leaves them out", () => {
  const m = mergeSubRangeStagings([
    part('a', { paid: '1.50' }),
    part('b', { paid: null }),
    part('c', { paid: '2.25' }),
  ]);
  assert.deepEqual(m?.controlSums, { paid: '3.75' });
  const older = mergeSubRangeStagings([part('a', { paid: '1.50' }), part('b')]);
  assert.ok(older);
  assert.equal('controlSums' in older, false);
});

test('a resumed attempt whose earlier segments were staged without sums (an older heartbeat) has none', () => {
  const fresh = freshProgress('1-1-aa', 1);
  addSegmentSums(fresh, { paid: '1.00' });
  fresh.segments++;
  addSegmentSums(fresh, { paid: '2.00' });
  assert.deepEqual(fresh.controlSums, { paid: '3.00' });
  const older = { ...freshProgress('1-1-bb', 1), segments: 2 };
  addSegmentSums(older, { paid: '2.00' });
  assert.equal(older.controlSums, undefined);
});
