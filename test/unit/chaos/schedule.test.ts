/** The chaos schedule is a pure function of the seed: same seed, same faults, kinds and moments. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FAULT_KINDS, planSchedule } from '../../../scripts/chaos/schedule.js';

test('the same seed gives the same schedule; another seed another one', () => {
  const a = planSchedule({ seed: 7, faults: 50, durationMs: 400_000 });
  const b = planSchedule({ seed: 7, faults: 50, durationMs: 400_000 });
  const c = planSchedule({ seed: 8, faults: 50, durationMs: 400_000 });
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});

test('every kind occurs when there are at least as many faults as kinds; moments are sorted within the phase', () => {
  const s = planSchedule({ seed: 3, faults: 12, durationMs: 120_000 });
  assert.equal(s.length, 12);
  assert.deepEqual(new Set(s.map((f) => f.kind)), new Set(FAULT_KINDS));
  for (let i = 1; i < s.length; i++) assert.ok(s[i]!.atMs >= s[i - 1]!.atMs);
  assert.ok(s.every((f) => f.atMs >= 0 && f.atMs < 120_000));
  assert.deepEqual(
    s.map((f) => f.n),
    s.map((_, i) => i + 1),
  );
});

test('a schedule restricted to some kinds draws only those', () => {
  const s = planSchedule({ seed: 1, faults: 20, durationMs: 60_000, kinds: ['worker-sigkill', 'sql-stall'] });
  assert.ok(s.every((f) => f.kind === 'worker-sigkill' || f.kind === 'sql-stall'));
});
