/**
 * The application-latency back-off's control law (src/source/latency-backoff.ts): it settles at the highest rate
 * the source carries within the allowed increase, against a noisy probe, and still leaves a real overload fast.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BackoffLaw } from '../../../src/source/latency-backoff.js';
import { mean, quantile, QUIET_RUN_NOISE, runOnSource } from '../../support/backoff-source.js';

/** Feeds samples; the decision each one brought (undefined while the law gathers samples toward one). */
const feed = (law: BackoffLaw, samples: number[], baseline: number) =>
  samples.map((s) => law.observe(s, baseline)?.decision);

test('on a source with a knee it settles just below the knee, not at its floor, with a noisy probe', () => {
  // 5% noise per probe sample: a decision of three samples against a baseline of five is a coin toss near a +5%
  // limit, which is what sent the AIMD law before to its floor (each false trip halved the rate and its step).
  for (const seed of [1, 2, 3, 4, 5]) {
    const law = new BackoffLaw({ maxRowsPerSecond: 1_000_000, maxIncreasePercent: 5 });
    const { caps, increasePercent } = runOnSource(law, { knee: () => 2_000, noise: 0.05, seed, decisions: 600 });
    const tail = caps.slice(300);
    const settled = quantile(tail, 0.5);
    assert.ok(settled >= 1_000 && settled <= 2_200, `seed ${seed}: settled at ${settled} rows/s (knee 2,000)`);
    assert.ok(quantile(tail, 0.1) > 100, `seed ${seed}: at its floor a tenth of the time`);
    // What the source sees: on average within the +5% it allows.
    const meanIncrease = mean(increasePercent.slice(300));
    assert.ok(meanIncrease <= 5, `seed ${seed}: mean increase ${meanIncrease.toFixed(1)}%`);
  }
});

test('with the quiet run noise (drift, 3 s stalls and outliers) it reads near the knee and keeps within +5%', () => {
  // A stall of the source (every probe 3 s) that falls in a baseline made every rate pass until the next one, and
  // one inside a read halved the cap three times; neither was Tidemark's doing.
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    const law = new BackoffLaw({ maxRowsPerSecond: 1_000_000, maxIncreasePercent: 5 });
    const run = runOnSource(law, { ...QUIET_RUN_NOISE, knee: () => 2_000, seed, decisions: 1_200 });
    const meanIncrease = mean(run.increasePercent.slice(600));
    assert.ok(meanIncrease <= 7, `seed ${seed}: mean increase ${meanIncrease.toFixed(1)}%`);
    const read = mean(run.readRowsPerSecond.slice(600)) / 2_000;
    assert.ok(read >= 0.5, `seed ${seed}: read ${read.toFixed(2)} of the knee`);
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

test('over the limit: a step of ×0.7 once two decisions say so, halving at once when far over', () => {
  const law = new BackoffLaw({ maxRowsPerSecond: 10_000, maxIncreasePercent: 5 });
  assert.deepEqual(feed(law, [11, 11], 10), [undefined, undefined], 'no decision before three samples');
  const first = law.observe(11, 10); // +10%: over, not far over
  assert.deepEqual(first, {
    decision: 'none',
    fromRowsPerSecond: 10_000,
    toRowsPerSecond: 10_000,
    medianMs: 11,
    limitMs: 10.5,
    baselineMs: 10,
  });
  assert.deepEqual(feed(law, [11, 11, 11], 10), [undefined, undefined, 'backoff']);
  assert.equal(law.rowsPerSecond, 7_000);
  feed(law, [11, 11, 11], 10);
  assert.equal(law.rowsPerSecond, 7_000, 'the first decision at the new rate does not trip alone');
  feed(law, [11, 11, 11], 10);
  assert.equal(law.rowsPerSecond, 4_900, 'still over at the new rate: another step');
  const far = new BackoffLaw({ maxRowsPerSecond: 10_000, maxIncreasePercent: 5 });
  feed(far, [15, 15, 15], 10); // +50%: more than 4 times the allowed increase
  assert.equal(far.rowsPerSecond, 5_000);
  assert.equal(far.stats.backoffs, 1);
});

test('one probe window just over the limit right after a back-off does not trip it again', () => {
  const law = new BackoffLaw({ maxRowsPerSecond: 10_000, maxIncreasePercent: 5 });
  feed(law, [15, 15, 15], 10); // far over: 10,000 → 5,000
  assert.equal(law.rowsPerSecond, 5_000);
  // The source still answers the old rate for a moment: one window +8%, then calm.
  feed(law, [10.8, 10.8, 10.8], 10);
  assert.equal(law.rowsPerSecond, 5_000, 'one window over at the new rate, judged alone');
  feed(law, [10, 10, 10], 10);
  assert.equal(law.stats.backoffs, 1);
});

test('a baseline taken in a stall of the source: far-below probes decide nothing and ask for a fresh baseline', () => {
  const law = new BackoffLaw({ maxRowsPerSecond: 10_000, maxIncreasePercent: 5 });
  feed(law, [15, 15, 15], 10); // 10,000 → 5,000
  // The baseline was taken while the source stalled (3 s); now it answers in 10 ms again, Tidemark reading.
  feed(law, [10, 10, 10], 3_000);
  assert.equal(law.rowsPerSecond, 5_000, 'no climb judged against a stalled baseline');
  assert.equal(law.wantsBaseline, false);
  feed(law, [10, 10, 10], 3_000);
  assert.equal(law.wantsBaseline, true, 'two decisions far below: a fresh baseline');
  law.newBaseline(10);
  assert.equal(law.wantsBaseline, false);
});

test('back-offs that a fresh baseline shows were a stall of the source are undone', () => {
  const law = new BackoffLaw({ maxRowsPerSecond: 10_000, maxIncreasePercent: 5 });
  for (let i = 0; i < 3; i++) feed(law, [10, 10, 10], 10);
  // The source stalls (3 s) while Tidemark reads: far over three times, 10,000 → 1,250.
  for (let i = 0; i < 3; i++) feed(law, [3_000, 3_000, 3_000], 10);
  assert.equal(law.rowsPerSecond, 1_250);
  assert.equal(law.wantsBaseline, true);
  // Reads held, the source is as slow: its own stall. The cap goes back to where it was.
  law.newBaseline(3_000);
  assert.equal(law.rowsPerSecond, 10_000);
  // The descent from a lifted cap (no rate held yet): a slow fresh baseline is Tidemark's own reads still in the
  // source, not a stall — nothing is undone.
  const descent = new BackoffLaw({ maxRowsPerSecond: 1_000_000, maxIncreasePercent: 5 });
  for (let i = 0; i < 3; i++) feed(descent, [3_000, 3_000, 3_000], 10);
  descent.newBaseline(3_000);
  assert.equal(descent.rowsPerSecond, 125_000);
  // The same back-offs with a fresh baseline as before: Tidemark's doing, they stand.
  const real = new BackoffLaw({ maxRowsPerSecond: 10_000, maxIncreasePercent: 5 });
  for (let i = 0; i < 3; i++) feed(real, [3_000, 3_000, 3_000], 10);
  real.newBaseline(10.2);
  assert.equal(real.rowsPerSecond, 1_250);
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

test('a configured floor holds, and is never above the cap (a chunk read may have a lower cap than the floor)', () => {
  const law = new BackoffLaw({ maxRowsPerSecond: 10_000, maxIncreasePercent: 5, minRowsPerSecond: 2_000 });
  for (let i = 0; i < 20; i++) feed(law, [50, 50, 50], 10);
  assert.equal(law.rowsPerSecond, 2_000);
  const low = new BackoffLaw({ maxRowsPerSecond: 1_000, maxIncreasePercent: 5, minRowsPerSecond: 5_000 });
  for (let i = 0; i < 5; i++) feed(low, [50, 50, 50], 10);
  assert.equal(low.rowsPerSecond, 1_000);
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
  assert.equal(law.observe(20, 20), undefined, 'the samples against the old baseline were dropped');
  assert.equal(law.rowsPerSecond, cap);
});

test('resetPending drops the samples gathered against an old baseline', () => {
  const law = new BackoffLaw({ maxRowsPerSecond: 10_000, maxIncreasePercent: 5 });
  feed(law, [20, 20], 10);
  law.resetPending();
  assert.equal(law.observe(20, 20), undefined);
  assert.equal(law.rowsPerSecond, 10_000);
});

test('settings are checked', () => {
  assert.throws(() => new BackoffLaw({ maxRowsPerSecond: 0, maxIncreasePercent: 5 }), /maxRowsPerSecond/);
  assert.throws(() => new BackoffLaw({ maxRowsPerSecond: 10, maxIncreasePercent: 0 }), /maxIncreasePercent/);
});
