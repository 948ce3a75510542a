/**
 * The one interface of the five capture strategies. A strategy is built for one table (its discovery and
 * config) on one {@link SourceConnection}:
 *
 * - `planWindow(lastPosition)` reads the window's bounds from the source *before* anything is read, so a retry
 *   of the read covers the same changes. Nothing changed → `empty: true` (nothing to read or commit).
 * - `readWindow(window)` streams the window's change rows in batches (an async iterable, pulled by the
 *   consumer: the driver is paused while the consumer is busy, so a window is never held in memory). Every row
 *   carries `_op` and `_pos` (see positions.ts) that totally order the events of one key.
 *
 * What crosses Temporal from here is the {@link SourceWindow} (positions only) and the stats (counts, timings).
 */
import type { ChangeOp, LakeColumn, LakeValue } from '../../domain/values.js';
import type { CaptureStrategyName } from '../../domain/table.js';
import type { SourceThrottle } from '../throttle.js';
import type { ColumnReader } from '../type-mapping.js';
import type { JobKind } from '../../domain/jobs.js';
import type { SubRange, WindowTransaction } from '../../domain/window.js';

/** A window's bounds. `from` exclusive (the previous `to`), `to` inclusive. */
export interface SourceWindow {
  readonly strategy: CaptureStrategyName;
  /** null: from the beginning of what the source holds. */
  readonly from: string | null;
  readonly to: string;
  /** True when nothing changed after `from`: no read, no commit. */
  readonly empty: boolean;
  /**
   * Seconds the lake is behind the source when this window commits: between `from` and the newest change the
   * source knows, plus (CDC) the capture latency; null when the source cannot tell.
   */
  readonly lagSeconds: number | null;
  /**
   * CDC only: seconds between the newest captured change (the max LSN's `tran_end_time`) and the source's
   * clock now. Grows while the capture job is stalled, however caught up the table is.
   */
  readonly captureLatencySeconds?: number | null;
  /**
   * True when the window was capped (`maxRowsPerWindow`) and the source already holds changes beyond `to`:
   * the next window can be planned at once instead of waiting for the cadence.
   */
  readonly more?: boolean;
  /**
   * True when the source's position moved past `from` but this table has no change in (from, to] (CDC: its max
   * LSN moves with other tables' changes and with the capture job's idle placeholders). Reading the window would
   * yield nothing; the sync commits such a window only now and then (see `idleCommitInterval`).
   */
  readonly idle?: boolean;
  /**
   * Set when this is one sub-range of a window planned with sub-ranges (`planSubRanges`): the whole window's
   * bounds. A strategy whose read depends on the window and not only on the range it reads uses them (updated_at:
   * the overlap, the floor and the bound rows are placed at; identity: the end and its gaps fixed at plan time),
   * so every sub-range places its rows exactly as the whole read would. Absent: the window is read whole.
   */
  readonly partOf?: { readonly from: string | null; readonly to: string };
  /**
   * CDC: the window's transactions and their commit times, when the plan found them all (see
   * {@link WindowTransaction}): the read then maps no commit time itself. Absent: the read maps them.
   */
  readonly transactions?: readonly WindowTransaction[];
  /**
   * The window's change rows, when the plan counted them all (CDC: its probe's count stayed below the split's
   * cap). A hint for sizing the staging's segments (capture/segment-size.ts), never trusted for correctness: the
   * read emits what the source holds. Absent: not counted.
   */
  readonly rows?: number;
}

/** One change event. `values` follow {@link ChangeBatch.columns}. */
export interface ChangeRow {
  readonly op: ChangeOp;
  readonly pos: string;
  /** Commit time in ns since 1970 (UTC) where the source knows it (CDC), else null. */
  readonly commitTs: bigint | null;
  readonly values: LakeValue[];
}

/** A batch of change rows. */
export interface ChangeBatch {
  readonly columns: readonly LakeColumn[];
  readonly rows: ChangeRow[];
  /**
   * Set on the last batch (possibly without rows) by a strategy whose read refines the window's end: the
   * position the next window starts from, consistent with exactly the rows this read emitted (identity: the
   * high-water seen and the gaps still open). Absent: the window's `to`.
   */
  readonly resumePosition?: string;
}

/** Counts and timings of one plan or read. */
export interface StepStats {
  /** Rows returned by the source. */
  rowsRead: number;
  /** Change rows emitted. */
  rowsEmitted: number;
  /** Rows dropped as already emitted (overlap de-duplication). */
  duplicatesDropped: number;
  queries: number;
  durationMs: number;
  /** Strategy-specific counters (e.g. `gapsOpen`, `gapsAbandoned`, `instanceSwitches`). */
  extra: Record<string, number>;
}

/** What the caller will ask of a planned window next (lets the plan answer it with a query it runs anyway). */
export interface PlanOptions {
  /**
   * The caller splits the window with `planSubRanges(window, rowsPerSubRange, …)` next. A strategy whose plan
   * probes the window for changes may count them instead, capped at `rowsPerSubRange + 1` (the query the split
   * would run first): one query fewer per non-idle window (docs/performance.md, "The cost of planWindow").
   */
  readonly rowsPerSubRange?: number;
}

/** A capture strategy for one table. */
export interface CaptureStrategy {
  readonly strategy: CaptureStrategyName;
  /** The lake columns of the rows this strategy emits (the table's columns, in order). */
  readonly columns: readonly LakeColumn[];
  planWindow(lastPosition: string | null, options?: PlanOptions): Promise<SourceWindow>;
  readWindow(window: SourceWindow): AsyncIterable<ChangeBatch>;
  /**
   * Splits a planned window whose backlog exceeds `rowsPerSubRange` rows into at most `maxSubRanges` contiguous
   * sub-ranges at transaction ends, each read with `readWindow` on its own, with `partOf` set to the window's
   * bounds (issue 14: one busy table read by several activities). The first starts at the window's `from`; the
   * last ends at its `to`, or at an end the split fixes instead of the read (identity: the open gaps), which then
   * becomes the window's `to`. Undefined: read the window whole (small enough, or this window cannot be split).
   * Absent: the strategy never splits.
   */
  planSubRanges?(window: SourceWindow, rowsPerSubRange: number, maxSubRanges: number): Promise<SubRange[] | undefined>;
  /** Stats of the last plan and of the last completed (or abandoned) read. */
  readonly lastPlanStats: StepStats | undefined;
  readonly lastReadStats: StepStats | undefined;

  // Jobs (snapshot, backfill, sweep, reconcile: chunk reads of the table, src/capture/chunk-job.ts).
  /** Whether the capture sees deletes (then delete reconciliation has nothing to do and is refused). */
  readonly seesDeletes: boolean;
  /** How a job chunk's `r` rows get their `_pos` (each orders after every event the lake holds for the key). */
  snapshotPositioner(): SnapshotPositioner;
  /**
   * The source position a job records before reading any chunk. A snapshot's is where incremental sync resumes
   * (the strategy's own window format); the other jobs' is the position their events are written at.
   */
  jobPosition(kind: JobKind): Promise<string>;
  /** Appended to every job row's position (so a job's rows are their own events); absent: nothing. */
  jobRowSuffix?(firstSeq: number): string;
  /** Which of a job chunk's rows to stage, by their source position; absent: all. */
  jobRowFilter?(jobPosition: string): (pos: string) => boolean;
  /**
   * verify: the positioner of a whole-table read whose position compares with the lake's `_pos`, and the
   * exclusive upper bound on `_pos` of the lake's state at that position; absent when positions do not compare.
   */
  verifyRead?(): VerifyRead;
}

/**
 * How a chunk's rows get their `_pos`: `atStart` runs inside the chunk's snapshot transaction before the rows
 * are read (the recorded position); `rowPos` may refine it per row.
 */
export interface SnapshotPositioner {
  atStart(q: (text: string) => Promise<Record<string, unknown>[]>): Promise<string>;
  rowPos(start: string, values: readonly LakeValue[], columns: readonly ColumnReader[]): string;
}

/** See {@link CaptureStrategy.verifyRead}. */
export interface VerifyRead {
  readonly positioner: SnapshotPositioner;
  /** The exclusive upper bound on lake `_pos` of the state at `position` (job rows included). */
  upperBound(position: string): string;
}

/** Options every strategy takes. */
export interface StrategyOptions {
  /** Rows per batch of a window read; default 256 (common.ts `stagedReadBatches`). */
  readonly batchRows?: number;
  /** Per-query timeout, ms. */
  readonly queryTimeoutMs?: number;
  /** Read under SNAPSHOT isolation (no blocking on OLTP locks); default: when the database allows it. */
  readonly snapshot?: boolean;
  /** The table's rows/s limit (config `limits.maxRowsPerSecond`), on top of the source's. */
  readonly rowLimiter?: SourceThrottle;
}

export function newStats(): StepStats {
  return { rowsRead: 0, rowsEmitted: 0, duplicatesDropped: 0, queries: 0, durationMs: 0, extra: {} };
}
