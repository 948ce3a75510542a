/**
 * A synthetic source for the latency back-off's law (src/source/latency-backoff.ts), shared by its unit tests and
 * `npm run bench:backoff-law`: deterministic and seeded, so its figures hold on a loaded machine.
 *
 * The source has a **knee**: its probe takes 10 ms (times its own level, below) while Tidemark reads at or below
 * the knee, and above it 6% more plus half again per knee of excess (so +5% is crossed just above the knee). One
 * decision is three probe samples (250 ms apart: a decision is ~0.75 s). What the source does on its own, as the
 * probe of the quiet machine's run saw it (docs/performance.md "bench:load after this stop's merges, on a quiet
 * machine": paused slices' p95 159–210 ms, one at 3.3 s):
 * - `noise`: each sample × (1 + noise × a standard normal);
 * - `drift`: the source's own level wanders (log-normal, stationary spread `drift`, correlated over ~30
 *   decisions: the application's own busier and quieter moments), for baseline and reading probes alike;
 * - `stallEvery`: on average once per this many decisions a stall of 3–8 decisions starts in which every sample
 *   takes 3 s (a blocked lock, a checkpoint, a log flush: not Tidemark's doing, and it hits the baseline too);
 * - `outliers`: the share of single samples that take 3 s.
 *
 * The baseline, as the monitor takes it (latency-monitor.ts): the reads are held ~2 s (3 decisions' time, counted
 * as not read) and five probes taken, at the start, every 80 decisions (the monitor's 60 s) and whenever the law
 * asks (`wantsBaseline`); `baselineOf` turns those probes into the baseline in force.
 */
import { prng } from '../../sim/seed.js';
import type { BackoffLaw } from '../../src/source/latency-backoff.js';

/** What the source does on its own (see the module comment); all default to 0 (none). */
export interface SourceNoise {
  readonly noise?: number;
  readonly drift?: number;
  readonly stallEvery?: number;
  readonly outliers?: number;
}

/** The quiet machine's run, as near as a few numbers get: a noisy baseline and occasional 3 s outliers. */
export const QUIET_RUN_NOISE: SourceNoise = { noise: 0.05, drift: 0.07, stallEvery: 300, outliers: 0.005 };

export interface BackoffRunOptions extends SourceNoise {
  /** The knee (rows/s) at each decision. */
  readonly knee: (decision: number) => number;
  readonly seed: number;
  readonly decisions: number;
  /** The baseline from the probes taken for it (default: the median of the last five). */
  readonly baselineOf?: (probes: readonly number[]) => number;
}

export interface BackoffRun {
  /** The cap after each decision (rows/s; while the reads were held for a baseline, the cap in force). */
  readonly caps: number[];
  /** The rate read during each decision's time: its cap, 0 while the reads were held for a baseline. */
  readonly readRowsPerSecond: number[];
  /** The source's true increase (percent) over its own level at each decision, from Tidemark's reads alone. */
  readonly increasePercent: number[];
  /** Baselines taken. */
  readonly baselines: number;
}

const STALL_MS = 3_000;

/** A seeded uniform generator (the simulator's mulberry32): the same numbers on every run. */
export const uniform = prng;

/** A seeded standard normal generator (Box–Muller over {@link uniform}). */
export function normal(seed: number): () => number {
  const u = uniform(seed);
  return () => Math.sqrt(-2 * Math.log(u() + 1e-12)) * Math.cos(2 * Math.PI * u());
}

const medianOf = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Runs `law` against the synthetic source for `o.decisions` decisions. */
export function runOnSource(law: BackoffLaw, o: BackoffRunOptions): BackoffRun {
  const g = normal(o.seed);
  // Events of the source on a generator of their own, so adding them leaves the sample noise of a run unchanged.
  const ev = uniform(o.seed * 7919 + 17);
  const noise = o.noise ?? 0;
  const drift = o.drift ?? 0;
  const baselineOf = o.baselineOf ?? ((probes: readonly number[]) => medianOf(probes.slice(-5)));
  // An AR(1) level in log space: stationary spread `drift`, correlation ~30 decisions.
  const rho = Math.exp(-1 / 30);
  let logLevel = 0;
  let stallLeft = 0;
  const sample = (increase: number): number => {
    if (stallLeft > 0 || (o.outliers !== undefined && ev() < o.outliers)) return STALL_MS;
    return 10 * Math.exp(logLevel) * (1 + increase) * Math.max(0.05, 1 + noise * g());
  };
  const tick = () => {
    if (drift > 0) logLevel = rho * logLevel + drift * Math.sqrt(1 - rho * rho) * g();
    if (stallLeft > 0) stallLeft--;
    else if (o.stallEvery !== undefined && ev() < 1 / o.stallEvery) stallLeft = 3 + Math.floor(ev() * 6);
  };
  const caps: number[] = [];
  const readRowsPerSecond: number[] = [];
  const increasePercent: number[] = [];
  const probes: number[] = [];
  let baseline = 10;
  let baselines = 0;
  let lastBaselineAt = -Infinity;
  let holdLeft = 0;
  for (let d = 0; d < o.decisions; d++) {
    tick();
    if (holdLeft === 0 && (d - lastBaselineAt >= 80 || law.wantsBaseline)) {
      // The reads are held ~2 s (three decisions' time) while five probes are taken.
      for (let i = 0; i < 5; i++) probes.push(sample(0));
      if (probes.length > 50) probes.splice(0, probes.length - 50);
      baseline = baselineOf(probes);
      law.newBaseline(baseline);
      baselines++;
      lastBaselineAt = d;
      holdLeft = 3;
    }
    if (holdLeft > 0) {
      holdLeft--;
      caps.push(law.rowsPerSecond);
      readRowsPerSecond.push(0);
      increasePercent.push(0);
      continue;
    }
    const knee = o.knee(d);
    const rate = law.rowsPerSecond;
    const increase = rate <= knee ? 0 : 0.06 + (0.5 * (rate - knee)) / knee;
    increasePercent.push(increase * 100);
    readRowsPerSecond.push(rate);
    for (let i = 0; i < 3; i++) law.observe(sample(increase), baseline);
    caps.push(law.rowsPerSecond);
  }
  return { caps, readRowsPerSecond, increasePercent, baselines };
}

export const quantile = (xs: readonly number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.floor(q * (xs.length - 1))]!;
export const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
