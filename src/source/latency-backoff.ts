/**
 * The control law of the application-latency back-off (`tables[].limits.latencyBackoff`): from probe latencies
 * measured while Tidemark reads, against a baseline measured while it does not (latency-monitor.ts), it sets the
 * rows/s cap of a table's reads — multiplicative decrease, additive increase (AIMD), as TCP does with its
 * congestion window, for the same reason: halving gets off an overloaded source within a few decisions, and a
 * slow climb probes for the rate the source can carry without overshooting it again at once.
 *
 * One decision per `samplesPerDecision` probe samples taken while reading: their median (one slow sample from a
 * hiccup does not trip it; a real slowdown moves the median) against the baseline:
 * - above `baseline × (1 + maxIncreasePercent/100)` (and above `baseline + minDeltaMs`, the probe's own timing
 *   noise): the cap is halved, down to `minRowsPerSecond`; the rate it was halved from is remembered;
 * - otherwise the cap grows by a tenth of that remembered rate (so it is back there after ten calm decisions
 *   from the first halving, and goes on climbing up to `maxRowsPerSecond` while the source stays calm).
 * Pure: no clock, no I/O; the monitor feeds it.
 */

/** Settings of one {@link BackoffLaw}. */
export interface BackoffLawOptions {
  /** The table's configured cap (`limits.maxRowsPerSecond`): the law never sets more. */
  readonly maxRowsPerSecond: number;
  /** How much slower than its baseline the probe may get while Tidemark reads, in percent (config). */
  readonly maxIncreasePercent: number;
  /** The floor of the cap (default: 100 rows/s, or the cap when it is lower). */
  readonly minRowsPerSecond?: number;
  /** Probe samples per decision (default 3). */
  readonly samplesPerDecision?: number;
  /** An increase smaller than this (ms) is timing noise, never a trip (default 0.2 ms). */
  readonly minDeltaMs?: number;
}

/** What one decision did. */
export type BackoffDecision = 'backoff' | 'recover' | 'none';

/** The figures of a law's latest decision (what the monitor logs for each decision at debug level). */
export interface BackoffDecisionRecord {
  readonly decision: BackoffDecision;
  /** The cap before and after the decision (rows/s). */
  readonly fromRowsPerSecond: number;
  readonly toRowsPerSecond: number;
  /** The median of the decision's probe samples, and the limit it was held against (ms). */
  readonly medianMs: number;
  readonly limitMs: number;
}

/** Counters of a law (cumulative). */
export interface BackoffLawStats {
  /** Times the cap was halved. */
  backoffs: number;
  /** Decisions taken. */
  decisions: number;
  /** The lowest cap set so far. */
  lowestRowsPerSecond: number;
}

export class BackoffLaw {
  private current: number;
  private tripRate: number;
  private readonly pending: number[] = [];
  private readonly o: Required<BackoffLawOptions>;
  readonly stats: BackoffLawStats;
  /** The latest decision's figures (undefined before the first). */
  last: BackoffDecisionRecord | undefined = undefined;

  constructor(options: BackoffLawOptions) {
    if (!(options.maxRowsPerSecond >= 1)) throw new Error('maxRowsPerSecond must be at least 1');
    if (!(options.maxIncreasePercent > 0)) throw new Error('maxIncreasePercent must be above 0');
    // 100 rows/s at most: with a lifted cap (1,000,000) a floor in proportion would never slow a window.
    const floor = Math.min(options.maxRowsPerSecond, 100);
    this.o = { minRowsPerSecond: floor, samplesPerDecision: 3, minDeltaMs: 0.2, ...options };
    this.current = options.maxRowsPerSecond;
    this.tripRate = options.maxRowsPerSecond;
    this.stats = { backoffs: 0, decisions: 0, lowestRowsPerSecond: this.current };
  }

  /** The rows/s cap in force now. */
  get rowsPerSecond(): number {
    return this.current;
  }

  /** The probe latency (ms) above which a decision backs off, for `baselineMs`. */
  limitMs(baselineMs: number): number {
    return Math.max(baselineMs * (1 + this.o.maxIncreasePercent / 100), baselineMs + this.o.minDeltaMs);
  }

  /**
   * One probe sample (ms) taken while this table's reads ran, against the baseline (ms) in force; decides once
   * every `samplesPerDecision` samples.
   */
  observe(sampleMs: number, baselineMs: number): BackoffDecision {
    this.pending.push(sampleMs);
    if (this.pending.length < this.o.samplesPerDecision) return 'none';
    const medianMs = median(this.pending);
    this.pending.length = 0;
    this.stats.decisions++;
    const fromRowsPerSecond = this.current;
    const limitMs = this.limitMs(baselineMs);
    const decision = this.decide(medianMs > limitMs);
    this.last = { decision, fromRowsPerSecond, toRowsPerSecond: this.current, medianMs, limitMs };
    return decision;
  }

  private decide(over: boolean): BackoffDecision {
    if (over) {
      this.tripRate = this.current;
      this.current = Math.max(this.o.minRowsPerSecond, Math.floor(this.current / 2));
      this.stats.backoffs++;
      this.stats.lowestRowsPerSecond = Math.min(this.stats.lowestRowsPerSecond, this.current);
      return 'backoff';
    }
    if (this.current >= this.o.maxRowsPerSecond) return 'none';
    const step = Math.max(1, Math.ceil(this.tripRate / 10));
    this.current = Math.min(this.o.maxRowsPerSecond, this.current + step);
    return 'recover';
  }

  /** Drops samples gathered toward a decision (the baseline changed under them). */
  resetPending(): void {
    this.pending.length = 0;
  }
}

/** The median of a non-empty list (the upper one of an even count). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}
