/**
 * The application-latency back-off's control law (src/source/latency-backoff.ts): it settles at the highest rate
 * the source carries within the allowed increase, against a noisy probe, and still leaves a real overload fast.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BackoffLaw } from '../../../src/source/latency-backoff.js';
import { mean, quantile, runOnSource } from '../../support/backoff-source.js';

const feed = (law: BackoffLaw, samples: number[], baseline: number) => samples.map((s) => law.observe(s, baseline));

test('on a source with a knee it settles just below the knee, not at its floor, with a noisy probe', () => {
  // 5% noise per probe sample: a decision of three samples against a baseline of five is a coin toss near a +5%
  // limit, which is what sent the AIMD law before to its floor (each false trip halved the rate and its step).
  for (const seed of [1, 2, 3, 4, 5]) {
    const law = new BackoffLaw({ maxRowsPerSecond: 1_000_000, maxIncreasePercent: 5 });
    const { caps, increasePercent } = runOnSource(law, { knee: () => 2_000, noise: 0.05, seed, decisions: 600 });
    const tail = caps.slice(300);
    const settled = quantile(tail, 0.5);
    assert.ok(settled >= 1_500 && settled <= 2_200, `seed ${seed}: settled at ${settled} rows/s (knee 2,000)`);
    assert.ok(quantile(tail, 0.1) > 100, `seed ${seed}: at its floor a tenth of the time`);
    // What the source sees: on average within the +5% it allows.
    const meanIncrease = mean(increasePercent.slice(300));
    assert.ok(meanIncrease <= 5, `seed ${seed}: mean increase ${meanIncrease.toFixed(1)}%`);
  }
});

test('with a quiet probe it holds the rate below the knee instead of halving from it over and over', () => {
  const law = new BackoffLaw({ maxRowsPerSecond: 1_000_000, maxIncreasePercent: 5 });
  const { caps, increasePercent } = runOnSource(law, { knee: () => 2_000, noise: 0, seed: 1, decisions: 600 });
  const tail = caps.slice(300);
  assert.ok(quantile(tail, 0.1) >= 1_800, `a tenth of the time at or below ${quantile(tail, 0.1)} rows/s`);
  assert.ok(Math.max(...tail) <= 2_400, `probes no higher than ${Math.max(...tail)} rows/s`);
  assert.ok(mean(increasePercent.slice(300)) <= 5);
});

test('it leaves a real overload fast: the knee drops tenfold, the cap is below it within five decisions', () => {
  const law = new BackoffLaw({ maxRowsPerSecond: 1_000_000, maxIncreasePercent: 5 });
  const { caps, readRowsPerSecond } = runOnSource(law, {
    knee: (d) => (d < 300 ? 10_000 : 1_000),
    noise: 0.05,
    seed: 7,
    decisions: 600,
  });
  const before = quantile(caps.slice(200, 300), 0.5);
  assert.ok(before >= 7_000, `settled at ${before} before the drop`);
  // The first five decisions that read after the drop (a hold for a baseline decides nothing).
  const after = caps.filter((_, i) => i >= 300 && readRowsPerSecond[i]! > 0).slice(0, 5);
  assert.ok(Math.min(...after) <= 1_000, `after the drop: ${after.join(', ')}`);
  const settled = quantile(caps.slice(400), 0.5);
  assert.ok(settled >= 700 && settled <= 1_100, `settled at ${settled} rows/s after the drop (knee 1,000)`);
});

test('a probe within the allowed increase never lowers the cap', () => {
  const law = new BackoffLaw({ maxRowsPerSecond: 10_000, maxIncreasePercent: 5 });
  // 4.9% slower than the 10 ms baseline, many times over.
  for (let i = 0; i < 30; i++) law.observe(10.49, 10);
  assert.equal(law.rowsPerSecond, 10_000);
  assert.equal(law.stats.backoffs, 0);
  assert.equal(law.stats.decisions, 10);
});

test('over the limit: a gentle step first, halving when it goes on, halving at once when far over', () => {
  const law = new BackoffLaw({ maxRowsPerSecond: 10_000, maxIncreasePercent: 5 });
  assert.deepEqual(feed(law, [11, 11], 10), ['none', 'none']);
  assert.equal(law.rowsPerSecond, 10_000, 'no decision before three samples');
  assert.equal(law.observe(11, 10), 'backoff'); // +10%: over, not far over
  assert.equal(law.rowsPerSecond, 7_000);
  feed(law, [11, 11, 11], 10);
  assert.equal(law.rowsPerSecond, 3_500, 'over twice in a row: halved');
  const far = new BackoffLaw({ maxRowsPerSecond: 10_000, maxIncreasePercent: 5 });
  feed(far, [15, 15, 15], 10); // +50%: more than 4 times the allowed increase
  assert.equal(far.rowsPerSecond, 5_000);
  assert.equal(far.stats.backoffs, 1);
});

test('one slow sample among calm ones does not trip it (the median decides)', () => {
  const law = new BackoffLaw({ maxRowsPerSecond: 10_000, maxIncreasePercent: 5 });
  feed(law, [10, 200, 10], 10);
  assert.equal(law.rowsPerSecond, 10_000);
});

test('one decision just over the limit among calm ones does not trip it (the average decides)', () => {
  const law = new BackoffLaw({ maxRowsPerSecond: 10_000, maxIncreasePercent: 5 });
  for (let i = 0; i < 5; i++) feed(law, [10, 10, 10], 10);
  feed(law, [10.8, 10.8, 10.8], 10); // +8%, once
  assert.equal(law.rowsPerSecond, 10_000);
});

test('after a trip at a rate that held it climbs back to it within a few decisions, then probes above it', () => {
  const law = new BackoffLaw({ maxRowsPerSecond: 100_000, maxIncreasePercent: 5 });
  feed(law, [20, 20, 20], 10); // far over: 100,000 → 50,000
  feed(law, [20, 20, 20], 10); // 50,000 → 25,000
  for (let i = 0; i < 3; i++) feed(law, [10, 10, 10], 10);
  assert.equal(law.heldRowsPerSecond, 25_000, 'two calm decisions: 25,000 held');
  const before = law.rowsPerSecond;
  feed(law, [20, 20, 20], 10); // a trip at a rate that held (noise or not)
  assert.ok(law.rowsPerSecond < before);
  const path: number[] = [];
  for (let i = 0; i < 6; i++) {
    feed(law, [10, 10, 10], 10);
    path.push(law.rowsPerSecond);
  }
  assert.ok(path[3]! >= 0.9 * 25_000 * 0.9, `back near the rate that held within four decisions: ${path.join(', ')}`);
});

test('the cap never goes below its floor, nor above the configured cap', () => {
  const law = new BackoffLaw({ maxRowsPerSecond: 1_000, maxIncreasePercent: 5, minRowsPerSecond: 100 });
  for (let i = 0; i < 20; i++) feed(law, [50, 50, 50], 10);
  assert.equal(law.rowsPerSecond, 100);
  assert.equal(law.stats.lowestRowsPerSecond, 100);
  for (let i = 0; i < 300; i++) feed(law, [10, 10, 10], 10);
  assert.equal(law.rowsPerSecond, 1_000);
});

test('timing noise below minDeltaMs is not a trip even when it is a large percentage of a tiny baseline', () => {
  const law = new BackoffLaw({ maxRowsPerSecond: 10_000, maxIncreasePercent: 5, minDeltaMs: 0.2 });
  feed(law, [0.65, 0.65, 0.65], 0.5); // +30%, but 0.15 ms
  assert.equal(law.rowsPerSecond, 10_000);
  for (let i = 0; i < 4; i++) feed(law, [0.75, 0.75, 0.75], 0.5); // 0.25 ms over a few decisions: a trip
  assert.ok(law.rowsPerSecond < 10_000);
});

test('after three back-offs against one baseline it asks for a fresh one; a fresh one clears its evidence', () => {
  const law = new BackoffLaw({ maxRowsPerSecond: 10_000, maxIncreasePercent: 5 });
  for (let i = 0; i < 2; i++) feed(law, [20, 20, 20], 10);
  assert.equal(law.wantsBaseline, false);
  feed(law, [20, 20, 20], 10);
  assert.equal(law.wantsBaseline, true);
  feed(law, [20, 20], 10);
  law.newBaseline();
  assert.equal(law.wantsBaseline, false);
  const cap = law.rowsPerSecond;
  assert.equal(law.observe(20, 20), 'none', 'the samples against the old baseline were dropped');
  assert.equal(law.rowsPerSecond, cap);
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
