/**
 * The application-latency back-off's signal (`tables[].limits.latencyBackoff`): a cheap probe statement timed at
 * intervals on a connection of its own, in a thread of its own (latency-probe-thread.ts), classified as
 *
 * - **baseline**: taken while this worker process reads nothing from the source (no query of the connection's
 *   throttle ran during the probe), or while every read of the process is held for it;
 * - **reading**: taken while a query of this worker ran, fed to the {@link BackoffLaw} of each table with a
 *   back-off that read rows within `activeMs`; a back-off also pauses the worker's next query (doubling while
 *   back-offs follow each other, up to `maxQueryPauseMs`), because a source slowed by the number of queries
 *   (small windows back to back) is not helped by fewer rows per second.
 *
 * The baseline is the median of the last `baselineSamples` baseline probes. When it is older than `rebaselineMs`
 * (a long read leaves no gap between windows) and a table is reading, the monitor holds every read of the
 * process (SourceThrottle.hold: the drivers pause once their buffers fill) for `settleMs` and then as many
 * probes as the baseline needs, and takes a fresh one: so a source that got slower for reasons of its own (the
 * application's peak) raises the baseline instead of holding Tidemark at its floor for good.
 *
 * Scope (what it does not see): reads of other worker processes, and other Tidemark workers' load counts as the
 * source's own; the probe measures what its statement measures (`SELECT 1`: the server's scheduling and the
 * network, not I/O or locks — an operator can name a statement like the application's own).
 */
import type { Worker } from 'node:worker_threads';
import { startModuleThread } from '../util/module-thread.js';
import type { SourceThrottle } from './throttle.js';
import { BackoffLaw, median, type BackoffDecisionRecord, type BackoffLawOptions } from './latency-backoff.js';
import type { ProbeThreadInput, ProbeThreadMessage } from './latency-probe-thread.js';

/** How the monitor probes (config `limits.latencyBackoff.probe` / `probeInterval`). */
export interface LatencyProbeSettings {
  readonly statement: string;
  readonly intervalMs: number;
}

/** Tuning of a {@link LatencyMonitor} (defaults in brackets). */
export interface LatencyMonitorOptions {
  /** Probes the baseline is the median of [5]. */
  readonly baselineSamples?: number;
  /** Age after which a reading table makes the monitor take a fresh baseline [60 s]. */
  readonly rebaselineMs?: number;
  /** Time after holding the reads before a probe counts as baseline [300 ms]. */
  readonly settleMs?: number;
  /** Longest hold for a baseline [10 s]: a probe that does not answer cannot stop the reads for longer. */
  readonly maxHoldMs?: number;
  /** How long after its last batch a table still counts as reading [10 s]. */
  readonly activeMs?: number;
  /** The longest pause of the next query after a back-off [5 s]. */
  readonly maxQueryPauseMs?: number;
  /**
   * Where the probe samples come from: `thread` (the default) starts the probe thread on first use; `fed` starts
   * none, and the samples come through {@link LatencyMonitor.feed} (the monitor's unit tests).
   */
  readonly probe?: 'thread' | 'fed';
  /** Where failures of the probe are told (never row values: driver messages only). */
  readonly onProbeError?: (message: string) => void;
  /** Told every decision of a table's law, with the baseline it was taken against (the worker logs it at debug). */
  readonly onDecision?: (table: string, decision: BackoffDecisionRecord) => void;
}

/** A table's back-off as its reads see it. */
export interface TableBackoff {
  /** The rows/s cap the law sets now. */
  readonly rowsPerSecond: () => number;
  /** Called by the table's row limiter at every batch: this table is reading now. */
  readonly reading: () => void;
  readonly law: BackoffLaw;
}

/** One probe sample: when it started (epoch ms) and how long it took (ms). */
export interface ProbeSample {
  readonly at: number;
  readonly ms: number;
}

export class LatencyMonitor {
  private thread: Worker | undefined;
  private readonly baseline: ProbeSample[] = [];
  private readonly tables = new Map<string, { law: BackoffLaw; lastReadAt: number }>();
  private holdStartedAt: number | undefined;
  private endHold: (() => void) | undefined;
  private holdTimer: NodeJS.Timeout | undefined;
  private noHoldBefore = 0;
  private consecutiveBackoffs = 0;
  private readonly o: Required<Omit<LatencyMonitorOptions, 'onProbeError' | 'onDecision'>>;
  /** Probes taken, baseline probes among them, and holds for a baseline (cumulative; tests and benches). */
  readonly stats = { probes: 0, baselineProbes: 0, holds: 0, errors: 0 };

  constructor(
    private readonly throttle: SourceThrottle,
    private readonly target: ProbeThreadInput['target'],
    readonly settings: LatencyProbeSettings,
    private readonly options: LatencyMonitorOptions = {},
  ) {
    this.o = {
      baselineSamples: 5,
      rebaselineMs: 60_000,
      settleMs: 300,
      maxHoldMs: 10_000,
      activeMs: 10_000,
      maxQueryPauseMs: 5_000,
      probe: 'thread',
      ...options,
    };
    // This monitor paces the worker's queries from now on; the throttle's own 3x rule would pause them too, for
    // Tidemark's own latency rather than the application's (throttle.ts).
    throttle.useApplicationBackoff();
  }

  /** The table's back-off (created on first use, kept for the life of the process: one per table). */
  table(key: string, law: BackoffLawOptions): TableBackoff {
    let t = this.tables.get(key);
    if (!t) this.tables.set(key, (t = { law: new BackoffLaw(law), lastReadAt: 0 }));
    this.start();
    const entry = t;
    return {
      law: entry.law,
      rowsPerSecond: () => entry.law.rowsPerSecond,
      reading: () => {
        entry.lastReadAt = Date.now();
        if (this.needsBaseline(entry.lastReadAt)) this.holdForBaseline();
      },
    };
  }

  /** The rows/s cap of a table's back-off, if it has one on this worker. */
  rateOf(key: string): number | undefined {
    return this.tables.get(key)?.law.rowsPerSecond;
  }

  /** The baseline in force (ms), if there is one. */
  baselineMs(): number | undefined {
    if (this.baseline.length < this.o.baselineSamples) return undefined;
    return median(this.baseline.map((s) => s.ms));
  }

  private needsBaseline(now: number): boolean {
    const newest = this.baseline.at(-1);
    return (
      this.baseline.length < this.o.baselineSamples || newest === undefined || now - newest.at > this.o.rebaselineMs
    );
  }

  private start(): void {
    if (this.thread || this.o.probe === 'fed') return;
    const input: ProbeThreadInput = {
      target: this.target,
      statement: this.settings.statement,
      intervalMs: this.settings.intervalMs,
    };
    const thread = startModuleThread(import.meta.url, 'latency-probe-thread', { workerData: input });
    thread.unref();
    thread.on('message', (m: ProbeThreadMessage) => {
      if (m.kind === 'sample') this.feed(m);
      else {
        this.stats.errors++;
        this.options.onProbeError?.(m.message);
      }
    });
    thread.on('error', (err: Error) => {
      this.stats.errors++;
      this.options.onProbeError?.(err.message);
    });
    thread.on('exit', () => {
      if (this.thread === thread) this.thread = undefined;
    });
    this.thread = thread;
  }

  /**
   * One probe sample: its start (epoch ms) and latency (ms). The probe thread's samples come here (or a test's,
   * with `probe: 'fed'`).
   */
  feed(s: ProbeSample): void {
    this.stats.probes++;
    const end = s.at + s.ms;
    const held = this.holdStartedAt !== undefined && s.at >= this.holdStartedAt + this.o.settleMs;
    if (held || this.throttle.idleSince() < s.at) {
      this.baseline.push({ at: end, ms: s.ms });
      if (this.baseline.length > this.o.baselineSamples) this.baseline.shift();
      this.stats.baselineProbes++;
      // A fresh baseline: samples gathered toward a decision against the old one no longer compare.
      if (held && this.baseline.length >= this.o.baselineSamples) {
        const fresh = this.baselineMs();
        for (const t of this.tables.values()) t.law.newBaseline(fresh);
        this.release();
      }
      return;
    }
    const baseline = this.baselineMs();
    if (baseline === undefined || this.holdStartedAt !== undefined) return;
    // A query of this worker ran during the probe: the probe is fed to the tables that read rows lately (their
    // limiter saw a batch within `activeMs`) — a window's planning and CDC queries load the source as its rows
    // do, and a small window's read is over before a probe or two.
    const since = s.at - this.o.activeMs;
    let backedOff = false;
    let calm = false;
    for (const [key, t] of this.tables) {
      if (t.lastReadAt < since) continue;
      const d = t.law.observe(s.ms, baseline);
      if (!d) continue;
      this.options.onDecision?.(key, d);
      if (d.decision === 'backoff') backedOff = true;
      else if (d.decision === 'recover') calm = true;
    }
    // A law that backed off again and again against this baseline, or reads far below it, asks for a fresh one
    // (latency-backoff.ts `wantsBaseline`): a source slower or faster for reasons of its own is not Tidemark's doing.
    if ([...this.tables.values()].some((t) => t.law.wantsBaseline)) this.holdForBaseline();
    if (backedOff) {
      // Fewer rows per second do not help when the source is slowed by the number of queries (short windows back
      // to back): each back-off also pauses the worker's next query, twice as long at each back-off in a row.
      this.consecutiveBackoffs++;
      this.throttle.countBackoff(
        Math.min(this.o.maxQueryPauseMs, this.settings.intervalMs * 2 ** this.consecutiveBackoffs),
      );
    } else if (calm) this.consecutiveBackoffs = 0;
  }

  private holdForBaseline(): void {
    if (this.holdStartedAt !== undefined || Date.now() < this.noHoldBefore) return;
    this.holdStartedAt = Date.now();
    this.stats.holds++;
    // Samples older than the hold cannot make up the new baseline.
    this.baseline.length = 0;
    this.throttle.hold(new Promise<void>((r) => (this.endHold = r)));
    this.holdTimer = setTimeout(() => {
      // No baseline within the longest hold (the probe fails or hangs): reads go on, and are not held again
      // before `rebaselineMs`; without a baseline no decision is taken (the cap stays where it is).
      this.noHoldBefore = Date.now() + this.o.rebaselineMs;
      this.release();
    }, this.o.maxHoldMs);
    this.holdTimer.unref();
  }

  private release(): void {
    if (this.holdTimer) clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
    this.holdStartedAt = undefined;
    const end = this.endHold;
    this.endHold = undefined;
    end?.();
  }

  /** Stops the probe thread (and lets held reads go on). */
  async close(): Promise<void> {
    this.release();
    const t = this.thread;
    this.thread = undefined;
    if (!t) return;
    t.postMessage('stop');
    const exited = new Promise<void>((r) => t.once('exit', () => r()));
    await Promise.race([exited, new Promise((r) => setTimeout(r, 2_000).unref())]);
    await t.terminate().catch(() => undefined);
  }
}
