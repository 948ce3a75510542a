/**
 * A window of one table: its sequence number and source bounds, fixed before anything is read.
 */

import type { JobKind, KeyRange } from './jobs.js';

/** A window's bounds, fixed from the source before anything is read. */
export interface WindowPlan {
  /** Window sequence number: the manifest sequence it commits as. Dense, starting at 1. */
  seq: number;
  /** `changes`: log events in (from, to]; a job kind: the events of one chunk of that job, read at `to`. */
  kind: 'changes' | JobKind;
  /** Exclusive lower bound (the previous window's `to`); null for job chunks. */
  from: string | null;
  /** Inclusive upper bound read from the source at planning time; for a job chunk, the position it was read at. */
  to: string;
  /** Job chunks only: the key range the chunk covers. */
  keyRange?: KeyRange;
  /** Read from the source when the window was planned (ISO-8601). */
  plannedAt: string;
  /**
   * The window was capped (`maxRowsPerWindow`) and the source holds more beyond `to`: the sync plans the next
   * window at once instead of waiting for its cadence. Absent: not capped.
   */
  more?: boolean;
  /**
   * The source's position moved (other tables' changes, CDC's idle placeholders) but this table has no change in
   * (from, to]: committing the window would write an empty manifest. The sync commits such a window only every
   * idle-commit interval and otherwise records that the table is caught up to `to`. Absent: not known to be idle.
   */
  idle?: boolean;
  /**
   * The window's backlog exceeded `limits.subRangeRows`: its changes are read in these sub-ranges, each by its
   * own activity (any worker, in parallel), and still committed by one manifest. Planned with the window, before
   * anything is read, and kept with it in the workflow's state, so a retry of a sub-range reads the same changes.
   * Contiguous: the first starts at `from`, each starts where the previous ends, the last ends at `to`. Absent:
   * one read of the whole window.
   */
  subRanges?: readonly SubRange[];
  /**
   * CDC: every source transaction with changes of this table in (from, to], with its commit time — set when the
   * plan's probe counted the whole window (below `limits.subRangeRows`) and it holds at most a few transactions
   * (a burst is one). The read then looks no commit time up: one pass over the window's changes less at the
   * source. Fixed with the bounds, so a retry reads the same times. Absent: the read looks them up itself.
   */
  transactions?: readonly WindowTransaction[];
  /**
   * The window's change count, when the plan counted it whole (CDC, below `limits.subRangeRows`): the staging
   * sizes its segments by it so that the last one is small and most of the encoding overlaps the read
   * (capture/segment-size.ts). A hint only; absent: not counted, or the window is read in sub-ranges.
   */
  rows?: number;
}

/** A source transaction of a window and its commit time. Positions and times only. */
export interface WindowTransaction {
  /** The transaction's position (CDC: its commit LSN, 20 hex digits). */
  at: string;
  /** Its commit time in ns since 1970, as a decimal string (payloads are JSON); null when the source has none. */
  commitNs: string | null;
}

/** A part of a window's bounds: changes in (from, to], `to` at a transaction's end. Positions only. */
export interface SubRange {
  from: string | null;
  to: string;
}
