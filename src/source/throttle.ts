/**
 * OLTP protection for one source: at most N queries at once, a rows/s cap, and automatic back-off when the
 * source's query latency rises above its recent baseline. Every wait is counted and reported
 * ({@link ThrottleStats}) so a window's summary can say how much it slowed itself down and why.
 *
 * Latency signal: the time from sending a query to its first row (or its completion), compared per operation
 * (a metadata query and a window read are not comparable). The baseline is the median of the operation's last
 * `baselineSamples` samples (at least 5 before it counts); a sample above `backoffFactor` × baseline (and above
 * `minLatencyMs`) counts as "the source is struggling": the rows/s cap is halved (down to `minRowsPerSecond`)
 * and the next query waits as long as the slow query took, at most `backoffPauseMs`. Each normal sample restores
 * a quarter of the lost rate.
 *
 * Why the pause scales: the source gets at least as much time without Tidemark as its slow query took (Tidemark's
 * share of it at most halves while it is slow), and a one-off slow catalog query of a window's fixed cost (200–400
 * ms on a loaded server) costs that, not 2 s: a fixed 2 s was the plan's whole p95 at a 10 s cadence
 * (docs/performance.md, "Freshness at a 10 s cadence"). A query slower than `backoffPauseMs` still pauses it.
 *
 * This rule judges the source by Tidemark's own queries against their own median. When a table of the connection
 * uses the application-latency back-off (`limits.latencyBackoff`, latency-monitor.ts), that back-off judges the
 * source as the application sees it and paces the worker's queries, and this rule stops ({@link
 * useApplicationBackoff}): two controllers on one set of queries would each pause for the other's cause.
 */

/** Settings of a {@link SourceThrottle}. */
export interface ThrottleOptions {
  /** Queries against this source at once (per worker process). */
  readonly maxConcurrentQueries: number;
  /** Rows read per second at most (all reads of this throttle together). */
  readonly maxRowsPerSecond: number;
  readonly minRowsPerSecond?: number;
  readonly baselineSamples?: number;
  readonly backoffFactor?: number;
  readonly minLatencyMs?: number;
  readonly backoffPauseMs?: number;
  /**
   * The cap in force now, when something else sets it (the application-latency back-off of the table,
   * latency-backoff.ts): read at every batch, never above `maxRowsPerSecond`.
   */
  readonly rateOf?: () => number;
  /**
   * Another throttle's counters that this one's waits and back-offs are added to as well: a table's row limiter
   * reports into the connection's throttle, whose counters the worker's metrics attribute to the reading table.
   */
  readonly alsoCount?: ThrottleStats;
}

/** Counts and timings of a throttle (cumulative). */
export interface ThrottleStats {
  queries: number;
  rows: number;
  /** Time spent waiting for a query slot. */
  slotWaitMs: number;
  /** Time spent waiting to stay under the rows/s cap. */
  rateWaitMs: number;
  /** Times the latency rose above the baseline and the throttle backed off. */
  backoffs: number;
  /** Time spent in back-off pauses. */
  backoffWaitMs: number;
  /** Median latency of the recent samples of the last operation observed (its baseline), ms. */
  baselineLatencyMs: number;
  /** Highest latency seen, ms. */
  maxLatencyMs: number;
  /** The rows/s cap in force now (below the configured cap while backed off). */
  currentRowsPerSecond: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** What a query's latency sample is ({@link SourceThrottle.observeLatency}). */
export interface LatencySampleOptions {
  /**
   * The query's time grows with the window it counts or cuts (the plan's capped count, the sub-range split's
   * probe, count and cuts): it says how big a window is, not how busy the source is, so it is no sample of the
   * source's health (reported as the highest latency seen, never compared with a baseline). Set by whoever issues
   * the query (`QueryOptions.sizeDependent`), not guessed from its name, so a new count cannot become a sample
   * unnoticed. As samples, a burst's capped count (10× the time of the small windows' counts before it) tripped
   * the 3× rule and its 2 s pause on a quiet source, in every run of `bench/plan-queries.ts` (docs/performance.md,
   * "The cost of planWindow").
   */
  readonly sizeDependent?: boolean;
}

export class SourceThrottle {
  private active = 0;
  private readonly waiters: (() => void)[] = [];
  private readonly samples = new Map<string, number[]>();
  private rate: number;
  private nextFreeAt = 0;
  private pendingPauseMs = 0;
  private lastReleaseAt = 0;
  private held: Promise<void> | undefined;
  /** Whether the latency rule above is in force (off once the application-latency back-off paces the queries). */
  private ownLatencyRule = true;
  readonly stats: ThrottleStats;
  private readonly o: Required<Omit<ThrottleOptions, 'rateOf' | 'alsoCount'>>;
  private readonly rateOf: (() => number) | undefined;
  private readonly alsoCount: ThrottleStats | undefined;

  constructor(options: ThrottleOptions) {
    this.o = {
      minRowsPerSecond: Math.max(1, Math.floor(options.maxRowsPerSecond / 16)),
      baselineSamples: 20,
      backoffFactor: 3,
      minLatencyMs: 50,
      backoffPauseMs: 2000,
      ...options,
    };
    this.rateOf = options.rateOf;
    this.alsoCount = options.alsoCount;
    this.rate = options.maxRowsPerSecond;
    this.stats = {
      queries: 0,
      rows: 0,
      slotWaitMs: 0,
      rateWaitMs: 0,
      backoffs: 0,
      backoffWaitMs: 0,
      baselineLatencyMs: 0,
      maxLatencyMs: 0,
      currentRowsPerSecond: this.rate,
    };
  }

  /** Waits for a query slot (and any back-off pause); call the returned function when the query ends. */
  async acquire(): Promise<() => void> {
    const t0 = Date.now();
    if (this.active >= this.o.maxConcurrentQueries) await new Promise<void>((r) => this.waiters.push(r));
    this.active++;
    this.stats.slotWaitMs += Date.now() - t0;
    if (this.pendingPauseMs > 0) {
      const p = this.pendingPauseMs;
      this.pendingPauseMs = 0;
      await sleep(p);
      this.stats.backoffWaitMs += p;
    }
    this.stats.queries++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active--;
      this.lastReleaseAt = Date.now();
      this.waiters.shift()?.();
    };
  }

  /** Records a latency sample of `operation` and backs off when it is far above that operation's baseline. */
  observeLatency(operation: string, ms: number, sample: LatencySampleOptions = {}): void {
    this.stats.maxLatencyMs = Math.max(this.stats.maxLatencyMs, ms);
    if (sample.sizeDependent || !this.ownLatencyRule) return;
    let samples = this.samples.get(operation);
    if (!samples) this.samples.set(operation, (samples = []));
    const baseline = median(samples);
    const enough = samples.length >= Math.min(5, this.o.baselineSamples);
    if (enough && ms > this.o.minLatencyMs && ms > baseline * this.o.backoffFactor) {
      this.stats.backoffs++;
      this.rate = Math.max(this.o.minRowsPerSecond, Math.floor(this.rate / 2));
      this.pendingPauseMs = Math.max(this.pendingPauseMs, Math.min(this.o.backoffPauseMs, ms));
      // A slow sample does not join the baseline: the baseline is what "normal" looks like.
    } else {
      samples.push(ms);
      if (samples.length > this.o.baselineSamples) samples.shift();
      this.rate = Math.min(this.o.maxRowsPerSecond, this.rate + Math.ceil((this.o.maxRowsPerSecond - this.rate) / 4));
    }
    this.stats.baselineLatencyMs = median(samples);
    this.stats.currentRowsPerSecond = this.rate;
  }

  /**
   * From now on the application-latency back-off (latency-monitor.ts) alone paces this throttle's queries: its own
   * latency rule stops (no halving, no pause; the samples still report the highest latency seen), and a rate it
   * halved is restored. Called when the first table of the connection gets that back-off.
   */
  useApplicationBackoff(): void {
    if (!this.ownLatencyRule) return;
    this.ownLatencyRule = false;
    this.rate = this.o.maxRowsPerSecond;
    this.stats.currentRowsPerSecond = this.rate;
  }

  /** Whether the application-latency back-off paces this throttle's queries ({@link useApplicationBackoff}). */
  get pacedByApplicationBackoff(): boolean {
    return !this.ownLatencyRule;
  }

  /** Accounts `n` rows read and waits as long as the rows/s cap (and any hold) requires. */
  async rows(n: number): Promise<void> {
    this.stats.rows += n;
    while (this.held) {
      const t0 = Date.now();
      await this.held;
      this.count('backoffWaitMs', Date.now() - t0);
    }
    const rate = this.rateOf ? Math.max(1, Math.min(this.o.maxRowsPerSecond, this.rateOf())) : this.rate;
    if (this.rateOf) this.stats.currentRowsPerSecond = rate;
    const now = Date.now();
    const start = Math.max(now, this.nextFreeAt);
    this.nextFreeAt = start + (n * 1000) / rate;
    // Allow a burst of one second's worth before waiting.
    const wait = this.nextFreeAt - now - 1000;
    if (wait > 0) {
      await sleep(wait);
      this.count('rateWaitMs', wait);
    }
  }

  /**
   * Holds every batch of every read through this throttle until `until` settles: the source then serves none
   * of Tidemark's rows (a read's driver pauses once its buffer is full), so latency measured meanwhile is the
   * source's without Tidemark's reads (latency-monitor.ts takes its baseline so). The wait counts as back-off.
   */
  hold(until: Promise<void>): void {
    const h = until.then(
      () => undefined,
      () => undefined,
    );
    this.held = h;
    void h.then(() => {
      if (this.held === h) this.held = undefined;
    });
  }

  /** Whether reads are held now ({@link hold}). */
  get holding(): boolean {
    return this.held !== undefined;
  }

  /** Since when no query of this throttle has run (ms since the epoch); +Infinity while one runs. */
  idleSince(): number {
    return this.active > 0 ? Number.POSITIVE_INFINITY : this.lastReleaseAt;
  }

  /**
   * Counts a back-off decided elsewhere (the application-latency back-off of a table reading through this), and
   * makes the next query wait `pauseMs` (its slot is held meanwhile, so the queries behind it wait too).
   */
  countBackoff(pauseMs = 0): void {
    this.stats.backoffs++;
    this.pendingPauseMs = Math.max(this.pendingPauseMs, pauseMs);
  }

  private count(key: 'rateWaitMs' | 'backoffWaitMs', ms: number): void {
    this.stats[key] += ms;
    if (this.alsoCount) this.alsoCount[key] += ms;
  }

  /** A copy of the counters. */
  snapshot(): ThrottleStats {
    return { ...this.stats };
  }
}

function median(samples: readonly number[]): number {
  if (samples.length === 0) return 0;
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}
