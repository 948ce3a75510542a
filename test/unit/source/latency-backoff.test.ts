/** The application-latency back-off's control law (src/source/latency-backoff.ts): AIMD on the rows/s cap. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BackoffLaw } from '../../../src/source/latency-backoff.js';

const feed = (law: BackoffLaw, samples: number[], baseline: number) => samples.map((s) => law.observe(s, baseline));

test('a probe within the allowed increase never lowers the cap', () => {
  const law = new BackoffLaw({ maxRowsPerSecond: 10_000, maxIncreasePercent: 5 });
  // 4.9% slower than the 10 ms baseline, many times over.
  for (let i = 0; i < 30; i++) law.observe(10.49, 10);
  assert.equal(law.rowsPerSecond, 10_000);
  assert.equal(law.stats.backoffs, 0);
  assert.equal(law.stats.decisions, 10);
});

test('a median above the allowed increase halves the cap, once per decision', () => {
  const law = new BackoffLaw({ maxRowsPerSecond: 10_000, maxIncreasePercent: 5 });
  assert.deepEqual(feed(law, [11, 11], 10), ['none', 'none']);
  assert.equal(law.rowsPerSecond, 10_000, 'no decision before three samples');
  assert.equal(law.observe(11, 10), 'backoff');
  assert.equal(law.rowsPerSecond, 5_000);
  feed(law, [11, 11, 11], 10);
  assert.equal(law.rowsPerSecond, 2_500);
  assert.equal(law.stats.backoffs, 2);
});

test('one slow sample among calm ones does not trip it (the median decides)', () => {
  const law = new BackoffLaw({ maxRowsPerSecond: 10_000, maxIncreasePercent: 5 });
  feed(law, [10, 200, 10], 10);
  assert.equal(law.rowsPerSecond, 10_000);
});

test('the cap never goes below its floor, nor above the configured cap', () => {
  const law = new BackoffLaw({ maxRowsPerSecond: 1_000, maxIncreasePercent: 5, minRowsPerSecond: 100 });
  for (let i = 0; i < 20; i++) feed(law, [50, 50, 50], 10);
  assert.equal(law.rowsPerSecond, 100);
  assert.equal(law.stats.lowestRowsPerSecond, 100);
  for (let i = 0; i < 100; i++) feed(law, [10, 10, 10], 10);
  assert.equal(law.rowsPerSecond, 1_000);
});

test('recovery is additive: a tenth of the rate it backed off from per calm decision', () => {
  const law = new BackoffLaw({ maxRowsPerSecond: 100_000, maxIncreasePercent: 5 });
  feed(law, [20, 20, 20], 10); // 100,000 → 50,000
  feed(law, [20, 20, 20], 10); // 50,000 → 25,000 (backed off from 50,000)
  assert.equal(law.rowsPerSecond, 25_000);
  const path: number[] = [];
  for (let i = 0; i < 4; i++) {
    feed(law, [10, 10, 10], 10);
    path.push(law.rowsPerSecond);
  }
  assert.deepEqual(path, [30_000, 35_000, 40_000, 45_000]);
});

test('timing noise below minDeltaMs is not a trip even when it is a large percentage of a tiny baseline', () => {
  const law = new BackoffLaw({ maxRowsPerSecond: 10_000, maxIncreasePercent: 5, minDeltaMs: 0.2 });
  feed(law, [0.65, 0.65, 0.65], 0.5); // +30%, but 0.15 ms
  assert.equal(law.rowsPerSecond, 10_000);
  feed(law, [0.75, 0.75, 0.75], 0.5);
  assert.equal(law.rowsPerSecond, 5_000);
});

test('resetPending drops the samples gathered against an old baseline', () => {
  const law = new BackoffLaw({ maxRowsPerSecond: 10_000, maxIncreasePercent: 5 });
  feed(law, [20, 20], 10);
  law.resetPending();
  assert.equal(law.observe(20, 20), 'none');
  assert.equal(law.rowsPerSecond, 10_000);
});

test('settings are checked', () => {
  assert.throws(() => new BackoffLaw({ maxRowsPerSecond: 0, maxIncreasePercent: 5 }), /maxRowsPerSecond/);
  assert.throws(() => new BackoffLaw({ maxRowsPerSecond: 10, maxIncreasePercent: 0 }), /maxIncreasePercent/);
});
