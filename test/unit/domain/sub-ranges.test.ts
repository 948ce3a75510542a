import assert from 'node:assert/strict';
import { test } from 'node:test';
import { coversWindow, MAX_SUB_RANGES, subRangesAt, subRangeTarget } from '../../../src/domain/sub-ranges.js';
import { mergeSubRangeStagings, type SubRangeStaging } from '../../../src/domain/staged.js';

test('a window at or below the threshold is not split; above it, sub-ranges hold the threshold', () => {
  assert.equal(subRangeTarget(100_000, 100_000), undefined);
  assert.equal(subRangeTarget(100_001, 100_000), 100_000);
  assert.equal(subRangeTarget(1_000_000, 100_000), 100_000);
});

test('a backlog that would need more than the most sub-ranges gets larger sub-ranges instead', () => {
  assert.equal(subRangeTarget(10_000_000, 100_000, 32), 312_500);
  assert.equal(subRangeTarget(10_000_000, 100_000), Math.ceil(10_000_000 / MAX_SUB_RANGES));
});

test('sub-ranges are cut after each transaction end, contiguous from the window start to its end', () => {
  const r = subRangesAt('a0', 'f0', ['b9', 'd9']);
  assert.deepEqual(r, [
    { from: 'a0', to: 'b9' },
    { from: 'b9', to: 'd9' },
    { from: 'd9', to: 'f0' },
  ]);
  assert.ok(coversWindow('a0', 'f0', r));
});

test('cuts outside the window, at its end or repeated are ignored; unsorted cuts are sorted', () => {
  assert.deepEqual(subRangesAt('b0', 'e0', ['d5', 'a1', 'b0', 'c5', 'c5', 'e0', 'f0']), [
    { from: 'b0', to: 'c5' },
    { from: 'c5', to: 'd5' },
    { from: 'd5', to: 'e0' },
  ]);
});

test('a window from the beginning (null) splits too; a single cut-less window is read whole', () => {
  assert.deepEqual(subRangesAt(null, 'e0', ['c0']), [
    { from: null, to: 'c0' },
    { from: 'c0', to: 'e0' },
  ]);
  assert.equal(subRangesAt('a0', 'e0', []), undefined);
  assert.equal(subRangesAt('a0', 'e0', ['e0', 'a0']), undefined, 'one transaction: no cut inside the window');
});

test('at most maxSubRanges ranges: the later cuts are dropped, the last range runs to the window end', () => {
  const r = subRangesAt('0', 'z', ['1', '2', '3', '4', '5'], 3);
  assert.deepEqual(r, [
    { from: '0', to: '1' },
    { from: '1', to: '2' },
    { from: '2', to: 'z' },
  ]);
});

test('coversWindow refuses gaps, overlaps and ranges that miss an end', () => {
  assert.equal(coversWindow('a', 'e', [{ from: 'a', to: 'e' }]), false, 'one range is no split');
  assert.equal(
    coversWindow('a', 'e', [
      { from: 'a', to: 'b' },
      { from: 'c', to: 'e' },
    ]),
    false,
  );
  assert.equal(
    coversWindow('a', 'e', [
      { from: 'a', to: 'c' },
      { from: 'c', to: 'd' },
    ]),
    false,
  );
});

const part = (id: string, rows: number, min: string | null, max: string | null, version = 1): SubRangeStaging => ({
  attemptId: id,
  schemaVersion: version,
  files: rows
    ? [
        {
          path: `data/commit_date=2026-01-01/w1-a${id}-p00000.parquet`,
          commitDate: '2026-01-01',
          rows,
          bytes: 10,
          md5: 'x',
        },
      ]
    : [],
  rows,
  opCounts: { c: rows, u: 0, d: 0, r: 0 },
  minPosition: min,
  maxPosition: max,
  durationMs: rows,
  stageMs: { encode: 1, upload: 2 },
});

test("the window's staging is every part's files, counts added up, positions spanning the parts", () => {
  const m = mergeSubRangeStagings([
    part('1-1-r0-aa', 3, '01', '03'),
    part('1-1-r1-bb', 0, null, null),
    part('1-1-r2-cc', 2, '07', '09'),
  ]);
  assert.ok(m);
  assert.equal(m.rows, 5);
  assert.equal(m.files.length, 2);
  assert.deepEqual(m.opCounts, { c: 5, u: 0, d: 0, r: 0 });
  assert.deepEqual([m.minPosition, m.maxPosition], ['01', '09']);
  assert.equal(m.sourceRowsRead, 5);
  assert.equal(m.attemptId, '1-1-r0-aa_1-1-r1-bb_1-1-r2-cc');
  assert.deepEqual(m.stageMs, { encode: 3, upload: 6 });
  assert.equal(m.durationMs, 3, 'the parts ran at once: the longest');
});

test('a long list of part attempts is shortened to at most 64 characters (an attempt id)', () => {
  const parts = Array.from({ length: 20 }, (_v, i) => part(`2-1-r${i}-0123abcd`, 1, '01', '01'));
  const m = mergeSubRangeStagings(parts);
  assert.ok(m && m.attemptId.length <= 64 && /^[A-Za-z0-9_-]+$/.test(m.attemptId), m?.attemptId);
});

test('parts staged under different schema versions are not merged (the window is staged again)', () => {
  assert.equal(mergeSubRangeStagings([part('a', 1, '01', '01', 1), part('b', 1, '02', '02', 2)]), undefined);
});
