/**
 * The latency back-off's law on a synthetic source with a knee (test/support/backoff-source.ts): how near the knee
 * it reads and how often the source is slowed beyond the allowed +5%, for a set of noise profiles. Deterministic and
 * seeded: the figures hold on a loaded machine (docs/performance.md "The back-off's law, continued").
 *
 *   npm run bench:backoff-law [-- --seeds 20 --decisions 1200]
 *
 * Per profile, the median over seeds (and the worst seed) of: the mean rate read ÷ the knee (holds for a baseline
 * count as nothing read), the share of decisions at which the source's true increase exceeded +5% (the cap above
 * the knee), the source's mean increase, the share at the floor, and back-offs per 100 decisions. The first half of each run is left out (the
 * descent from the lifted cap).
 */
import { parseArgs } from 'node:util';
import { BackoffLaw } from '../src/source/latency-backoff.js';
import { mean, quantile, QUIET_RUN_NOISE, runOnSource, type SourceNoise } from '../test/support/backoff-source.js';

const { values } = parseArgs({
  options: { seeds: { type: 'string', default: '20' }, decisions: { type: 'string', default: '1200' } },
});
const SEEDS = Number(values.seeds);
const DECISIONS = Number(values.decisions);
const KNEE = 2_000;

const PROFILES: [string, SourceNoise][] = [
  ['5% per sample', { noise: 0.05 }],
  ['10% per sample', { noise: 0.1 }],
  ['5% + drift 7%', { noise: 0.05, drift: 0.07 }],
  ['5% + 3 s stalls and outliers', { noise: 0.05, stallEvery: 300, outliers: 0.005 }],
  ['quiet run (5%, drift 7%, 3 s stalls, outliers)', QUIET_RUN_NOISE],
  ['quiet run, 10% per sample', { ...QUIET_RUN_NOISE, noise: 0.1 }],
];

const pct = (x: number) => `${(100 * x).toFixed(0)}%`;
console.log(
  `law on a knee of ${KNEE} rows/s, +5% allowed, ${DECISIONS} decisions (last ${DECISIONS / 2} counted), ${SEEDS} seeds: median (worst)`,
);
console.log(
  '| source noise | read ÷ knee | decisions over +5% | mean increase | at floor | back-offs per 100 decisions |',
);
console.log('| --- | --- | --- | --- | --- | --- |');
for (const [label, noise] of PROFILES) {
  const read: number[] = [];
  const over: number[] = [];
  const floor: number[] = [];
  const increase: number[] = [];
  const backoffs: number[] = [];
  for (let seed = 1; seed <= SEEDS; seed++) {
    const law = new BackoffLaw({ maxRowsPerSecond: 1_000_000, maxIncreasePercent: 5 });
    let backoffsAtHalf = 0;
    const run = runOnSource(law, {
      ...noise,
      knee: (d) => {
        if (d === DECISIONS / 2) backoffsAtHalf = law.stats.backoffs;
        return KNEE;
      },
      seed,
      decisions: DECISIONS,
    });
    const from = DECISIONS / 2;
    read.push(mean(run.readRowsPerSecond.slice(from)) / KNEE);
    over.push(mean(run.increasePercent.slice(from).map((x) => (x > 5 ? 1 : 0))));
    increase.push(mean(run.increasePercent.slice(from)));
    floor.push(mean(run.caps.slice(from).map((c) => (c <= 100 ? 1 : 0))));
    backoffs.push(((law.stats.backoffs - backoffsAtHalf) / from) * 100);
  }
  const worstLow = (xs: number[]) => Math.min(...xs);
  const worstHigh = (xs: number[]) => Math.max(...xs);
  console.log(
    `| ${label} | ${quantile(read, 0.5).toFixed(2)} (${worstLow(read).toFixed(2)}) | ${pct(quantile(over, 0.5))} (${pct(worstHigh(over))}) | ` +
      `${quantile(increase, 0.5).toFixed(1)}% (${worstHigh(increase).toFixed(1)}%) | ${pct(quantile(floor, 0.5))} (${pct(worstHigh(floor))}) | ${quantile(backoffs, 0.5).toFixed(1)} (${worstHigh(backoffs).toFixed(1)}) |`,
  );
}
