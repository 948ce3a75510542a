/**
 * The control law of the application-latency back-off (`tables[].limits.latencyBackoff`): from probe latencies
 * measured while Tidemark reads, against a baseline measured while it does not (latency-monitor.ts), it sets the
 * rows/s cap of a table's reads. It looks for the highest rate the source carries within the allowed increase
 * and settles there, instead of halving and climbing back for ever (branch i14-backoff, docs/performance.md "The
 * back-off's law"): the AIMD law before it (halve on every trip, climb by a tenth of the rate it last halved from)
 * fell to its 100 rows/s floor on a noisy probe, because each false trip halved the rate *and* the step it
 * climbed back with.
 *
 * One decision per `samplesPerDecision` probe samples taken while reading: their median against the baseline,
 * **over** when above `baseline × (1 + maxIncreasePercent/100)` (and above `baseline + minDeltaMs`, the probe's own
 * timing noise), **far over** when the increase is more than `severeFactor` times the allowed one. A decision's
 * increase enters a running average (weight `smoothing`) and the law acts when the average is over; at a new rate
 * (or against a fresh baseline) the average starts again from halfway to the limit, so one decision alone acts
 * only when far over (branch i14-backoff2: one probe window right after a rate change tripped the law on its own).
 * - The **rate that held** (`heldRowsPerSecond`): the highest cap under which `heldAfter` decisions in a row were
 *   within the limit. A trip at or below it lowers it by a tenth (a rate that tripped is less sure; noise that
 *   trips it once costs 10%, a source that got slower for good brings it down trip by trip).
 * - **Far over**: the cap halves (a real overload is left within a few decisions, as AIMD did).
 * - **Over**, probing above the rate that held: back to it (the knee lies between).
 * - **Over** otherwise: the cap × 0.7 — a gentle step, because at a rate that held a single trip is as likely the
 *   probe's noise as the source (a +5% limit is within what a probe of a busy server varies).
 * - **Within**: below the rate that held, the cap climbs back by a tenth of it per decision; at or above it, it
 *   probes higher by a tenth of the cap once it has held `heldAfter` decisions, and after a failed probe it waits
 *   twice as many decisions before the next one (up to `maxProbeWait`) — so it settles just below the knee
 *   instead of crossing it every few decisions. With no rate held yet it climbs by a tenth of the cap each
 *   decision (multiplicative), so a cap knocked to the floor by a burst is back within tens of decisions.
 * - **The baseline's own moments** (branch i14-backoff2): a decision far below the baseline (under half of it)
 *   says the baseline was taken in a stall of the source's own, against which every rate would pass: it decides
 *   nothing, and two in a row ask for a fresh baseline (`wantsBaseline`). A fresh baseline twice the one the law
 *   backed off against says those back-offs were the source's own stall: they are undone (`newBaseline`).
 * Pure: no clock, no I/O; the monitor feeds it.
 */

/** Settings of one {@link BackoffLaw}. */
export interface BackoffLawOptions {
  /** The table's configured cap (`limits.maxRowsPerSecond`): the law never sets more. */
  readonly maxRowsPerSecond: number;
  /** How much slower than its baseline the probe may get while Tidemark reads, in percent (config). */
  readonly maxIncreasePercent: number;
  /** The floor of the cap (config `minRowsPerSecond`; default 100 rows/s; never above `maxRowsPerSecond`). */
  readonly minRowsPerSecond?: number;
  /** Probe samples per decision (default 3). */
  readonly samplesPerDecision?: number;
  /** An increase smaller than this (ms) is timing noise, never a trip (default 0.2 ms). */
  readonly minDeltaMs?: number;
  /** Decisions in a row within the limit after which a cap counts as held (default 2). */
  readonly heldAfter?: number;
  /** An increase above this many times the allowed one halves the cap at once (default 4). */
  readonly severeFactor?: number;
  /** The longest wait, in decisions, between probes above the rate that held (default 16). */
  readonly maxProbeWait?: number;
  /** The weight of a decision's increase in the running average the limit is held against (default 0.3). */
  readonly smoothing?: number;
  /** Back-offs against one baseline after which the law asks for a fresh one (default 3). */
  readonly rebaselineAfter?: number;
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
  /** The baseline the decision was taken against (ms). */
  readonly baselineMs: number;
}

/** Counters of a law (cumulative). */
export interface BackoffLawStats {
  /** Times the cap was lowered. */
  backoffs: number;
  /** Decisions taken. */
  decisions: number;
  /** The lowest cap set so far. */
  lowestRowsPerSecond: number;
}

export class BackoffLaw {
  private current: number;
  /** The highest cap that held `heldAfter` decisions in a row (0: none yet). */
  private held = 0;
  /** Decisions in a row within the limit at the current cap. */
  private calm = 0;
  /** Decisions to wait at the rate that held, once confirmed, before probing higher (grows after failed probes). */
  private probeWait = 0;
  /** Back-offs since the last fresh baseline. */
  private backoffsOnBaseline = 0;
  /** The cap and the rate that held before the first back-off against the baseline in force, and that baseline. */
  private beforeBackoffs: { current: number; held: number; baselineMs: number } | undefined = undefined;
  /** The smoothed increase, in units of the allowed one (undefined: no decision at this rate yet). */
  private level: number | undefined = undefined;
  /** Decisions in a row far below the baseline (a baseline taken in a stall). */
  private farBelow = 0;
  private readonly pending: number[] = [];
  private readonly o: Required<BackoffLawOptions>;
  readonly stats: BackoffLawStats;
  /** The latest decision's figures (undefined before the first). */
  last: BackoffDecisionRecord | undefined = undefined;

  constructor(options: BackoffLawOptions) {
    if (!(options.maxRowsPerSecond >= 1)) throw new Error('maxRowsPerSecond must be at least 1');
    if (!(options.maxIncreasePercent > 0)) throw new Error('maxIncreasePercent must be above 0');
    // 100 rows/s by default: with a lifted cap (1,000,000) a floor in proportion would never slow a window. Never
    // above the cap (a chunk read's cap may be lower than the floor configured for the table).
    const floor = Math.min(options.maxRowsPerSecond, options.minRowsPerSecond ?? 100);
    this.o = {
      samplesPerDecision: 3,
      minDeltaMs: 0.2,
      heldAfter: 2,
      severeFactor: 4,
      maxProbeWait: 16,
      smoothing: 0.3,
      rebaselineAfter: 3,
      ...options,
      minRowsPerSecond: floor,
    };
    this.current = options.maxRowsPerSecond;
    this.stats = { backoffs: 0, decisions: 0, lowestRowsPerSecond: this.current };
  }

  /** The rows/s cap in force now. */
  get rowsPerSecond(): number {
    return this.current;
  }

  /** The highest cap that held (rows/s; 0 before one has). */
  get heldRowsPerSecond(): number {
    return this.held;
  }

  /** The probe latency (ms) above which a decision backs off, for `baselineMs`. */
  limitMs(baselineMs: number): number {
    return this.limitFor(baselineMs, 1);
  }

  private limitFor(baselineMs: number, factor: number): number {
    return Math.max(
      baselineMs * (1 + (factor * this.o.maxIncreasePercent) / 100),
      baselineMs + factor * this.o.minDeltaMs,
    );
  }

  /**
   * One probe sample (ms) taken while this table's reads ran, against the baseline (ms) in force; decides once
   * every `samplesPerDecision` samples. Returns the decision's record, or undefined while gathering samples.
   */
  observe(sampleMs: number, baselineMs: number): BackoffDecisionRecord | undefined {
    this.pending.push(sampleMs);
    if (this.pending.length < this.o.samplesPerDecision) return undefined;
    const medianMs = median(this.pending);
    this.pending.length = 0;
    this.stats.decisions++;
    const fromRowsPerSecond = this.current;
    const limitMs = this.limitMs(baselineMs);
    const decision = this.decide(medianMs, baselineMs, limitMs);
    this.last = { decision, fromRowsPerSecond, toRowsPerSecond: this.current, medianMs, limitMs, baselineMs };
    return this.last;
  }

  private decide(medianMs: number, baselineMs: number, limitMs: number): BackoffDecision {
    if (medianMs < baselineMs * STALE_BELOW) {
      // Far faster while reading than the baseline: Tidemark's reads do not speed the source up, so the baseline
      // was taken in a stall of the source's own (a lock, a checkpoint). Judged against it every rate would pass:
      // no evidence either way, and after two such decisions the law asks for a fresh baseline.
      this.farBelow++;
      return 'none';
    }
    this.farBelow = 0;
    // The increase in units of the allowed one (1: at the limit), clipped so one decision cannot outweigh the
    // average by much; far over acts on its own.
    const x = (medianMs - baselineMs) / (limitMs - baselineMs);
    const severe = x > this.o.severeFactor;
    // At a new rate (or against a fresh baseline) the average starts halfway to the limit, not at the first
    // decision's increase: that decision is one window of probes, taken while the source still answers the rate
    // before, and alone (clipped at 2) it cannot trip the law — only far over acts at once.
    const before = this.level ?? FRESH_LEVEL;
    this.level = before + this.o.smoothing * (clip(x, -2, 2) - before);
    if (severe || this.level > 1) {
      // Evidence gathered at the old rate does not hold at the new one: the next decision starts the average.
      this.level = undefined;
      return this.over(severe, baselineMs);
    }
    return this.within(x <= 1);
  }

  private over(severe: boolean, baselineMs: number): BackoffDecision {
    const from = this.current;
    this.beforeBackoffs ??= { current: from, held: this.held, baselineMs };
    this.calm = 0;
    if (!severe && this.held > 0 && from > this.held) {
      // A probe above the rate that held failed: back to it, and wait longer before the next probe.
      this.current = this.held;
      this.probeWait = Math.min(this.o.maxProbeWait, Math.max(this.o.heldAfter, this.probeWait * 2));
    } else {
      // Far over: a real overload, halve; over: a gentle step (it may be noise; the average keeps stepping while
      // the source stays over, a confirmed trip every second decision).
      this.current = Math.floor(from * (severe ? 0.5 : 0.7));
      // A trip at or below the rate that held: that rate is less sure (a tenth per trip), and no more than
      // the rate that just tripped.
      if (from <= this.held) this.held = Math.min(Math.floor(this.held * 0.9), from);
    }
    this.current = Math.max(this.o.minRowsPerSecond, Math.min(this.current, from));
    this.stats.backoffs++;
    this.backoffsOnBaseline++;
    this.stats.lowestRowsPerSecond = Math.min(this.stats.lowestRowsPerSecond, this.current);
    return 'backoff';
  }

  private within(calm: boolean): BackoffDecision {
    // Only a decision itself within the limit counts toward holding a rate (the average lags behind a rate
    // just above the knee).
    if (!calm) {
      this.calm = 0;
      return 'none';
    }
    this.calm++;
    if (this.calm >= this.o.heldAfter && this.current > this.held) {
      this.held = this.current;
      // A probe held: the next may follow as soon as this rate is confirmed.
      this.probeWait = 0;
    }
    if (this.current >= this.o.maxRowsPerSecond) return 'none';
    let next: number;
    if (this.current < this.held) {
      // Back toward the rate that held, by a tenth of it per decision.
      next = Math.min(this.held, this.current + Math.max(1, Math.ceil(this.held / 10)));
    } else {
      // At (or, unconfirmed, above) the rate that held: probe higher by a tenth once it has held, and waited.
      if (this.calm < this.o.heldAfter + this.probeWait) return 'none';
      next = this.current + Math.max(1, Math.ceil(this.current / 10));
    }
    this.calm = 0;
    this.current = Math.min(this.o.maxRowsPerSecond, next);
    return 'recover';
  }

  /** Drops samples gathered toward a decision (the baseline changed under them). */
  resetPending(): void {
    this.pending.length = 0;
  }

  /**
   * True once the cap was lowered `rebaselineAfter` times against one baseline: either the source is overloaded
   * (a fresh baseline says so again) or the baseline was taken in a quieter moment than now (drift: a fresh one
   * stops the law from reading the source's own slowdown as Tidemark's cost, all the way to the floor).
   */
  get wantsBaseline(): boolean {
    return this.backoffsOnBaseline >= this.o.rebaselineAfter || this.farBelow >= 2;
  }

  /**
   * A fresh baseline is in force: drops the samples and the average gathered against the old one. Given the fresh
   * baseline (ms): when it is `STALL_RATIO` times the one the law last backed off against, the source was that much
   * slower with Tidemark's reads held — its own stall, not Tidemark's cost — and the back-offs taken against the old
   * baseline are undone (the cap goes back to what it was before them, at most to the rate that held then; with no
   * rate held yet — the descent from a lifted cap, the source still busy with Tidemark's reads — nothing is undone).
   */
  newBaseline(freshMs?: number): void {
    const before = this.beforeBackoffs;
    // Only back to a rate that held: while the law descends from a lifted cap (nothing held yet) the source is still
    // busy with Tidemark's own reads when the hold for the baseline starts, and a slow fresh baseline says so.
    if (before && before.held > 0 && freshMs !== undefined && freshMs >= before.baselineMs * STALL_RATIO) {
      this.current = Math.min(before.current, before.held);
      this.held = before.held;
      this.calm = 0;
    }
    this.beforeBackoffs = undefined;
    this.pending.length = 0;
    this.level = undefined;
    this.backoffsOnBaseline = 0;
    this.farBelow = 0;
  }
}

/** Where the running average starts at a new rate: halfway to the limit (1). */
const FRESH_LEVEL = 0.5;
/** A probe median below this share of the baseline says the baseline was taken in a stall. */
const STALE_BELOW = 0.5;
/** A fresh baseline this many times the old one says the back-offs against the old were the source's own stall. */
const STALL_RATIO = 2;

const clip = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));

/** The median of a non-empty list (the upper one of an even count). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}
