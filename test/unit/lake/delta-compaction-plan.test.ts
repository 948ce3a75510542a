/** The compaction's plan (src/lake/delta/compaction.ts) and which days the nightly run picks (capture). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { daysToCompact, planGroups } from '../../../src/lake/delta/compaction.js';
import type { LiveFile } from '../../../src/lake/delta/live-files.js';
import { closedBefore } from '../../../src/capture/delta-compaction.js';

const file = (name: string, size: number, commitDate = '2025-11-24', compacted = false): LiveFile => ({
  uri: `data/commit_date=${commitDate}/${name}`,
  path: `data/commit_date=${commitDate}/${name}`,
  commitDate,
  size,
  rows: 1,
  md5: '',
  compacted,
});

test('groups small files in order up to the target; big files, earlier outputs and groups of one are left alone', () => {
  const files = [
    file('a', 40),
    file('b', 50),
    file('big', 100), // at the target: already big enough
    file('c', 30), // a + b + c would exceed 100
    file('done', 10, '2025-11-24', true), // a compaction's own output: never compacted again
    file('d', 60),
    file('e', 70), // alone: c + d fill the group, e would overflow it
  ];
  const names = planGroups(files, 100).map((g) => g.map((f) => f.uri.split('/').pop()));
  assert.deepEqual(names, [
    ['a', 'b'],
    ['c', 'd'],
  ]);
  assert.deepEqual(planGroups([file('x', 10), file('y', 10, '2025-11-24', true)], 100), []);
});

test('the nightly run picks closed days with something to compact, oldest first', () => {
  const files = [
    file('a', 1, '2025-11-25'),
    file('b', 1, '2025-11-25'),
    file('c', 1, '2025-11-23'),
    file('d', 1, '2025-11-23'),
    file('e', 1, '2025-11-22'), // one file: nothing to do
    file('f', 1, '2025-11-26'),
    file('g', 1, '2025-11-26'), // not closed yet
  ];
  // At 2025-11-27 01:00 UTC with 24 h: days up to 2025-11-25 are closed (it ended 25 h ago).
  const before = closedBefore(Date.parse('2025-11-27T01:00:00Z'), 24 * 3_600_000);
  assert.equal(before, '2025-11-26');
  assert.deepEqual(daysToCompact(files, before, 100), ['2025-11-23', '2025-11-25']);
});
