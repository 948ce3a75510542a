/**
 * The serializable state of one table's sync: what the workflow carries through continue-as-new (the snapshot)
 * and what its `status` query reports. Plain data; the transitions are table-sync-state.ts.
 */
import type { JobRequest } from '../domain/jobs.js';
import type { WindowPlan } from '../domain/window.js';
import type { TableRef } from '../domain/table.js';

export type TableSyncMode = 'running' | 'paused' | 'stopped' | 'reseeding';

/** A job's outcome, as the status query reports it. */
export interface JobRecord {
  id: string;
  kind: string;
  /** `failed`: refused (wrong arguments), failed for good, or terminated/cancelled; `reason` says why. */
  state: 'queued' | 'running' | 'done' | 'failed';
  reason?: string;
  windows?: number;
  rows?: number;
  sourceRowsRead?: number;
  finishedAt?: string;
}

/** The last window that became visible in the lake. */
export interface CommittedWindow {
  seq: number;
  from: string | null;
  to: string;
  rows: number;
  manifestPath: string;
  committedAt: string;
  /** Rows per second of extract → commit for this window. */
  rowsPerSecond: number;
}

/** Serializable snapshot: the workflow's input on (re)start and continue-as-new. */
export interface TableSyncSnapshot {
  table: TableRef;
  mode: TableSyncMode;
  /** The watermark: the last committed position, null before the first snapshot. */
  position: string | null;
  /** The next window's sequence number. */
  nextSeq: number;
  /** A planned window that has not committed yet: retried with the same bounds, never re-planned. */
  pendingWindow: WindowPlan | null;
  /** Extraction attempts made for the pending window (file names are unique per attempt). */
  pendingAttempts: number;
  lastCommitted: CommittedWindow | null;
  lagSeconds: number | null;
  /** CDC: seconds since the newest captured change, by the source's clock (absent in older snapshots). */
  captureLatencySeconds?: number | null;
  /** The operator's reason given with a pause that is requested or in effect (absent in older snapshots). */
  pauseReason?: string | null;
  /** Why the table is stopped, or the last error met (without row values). */
  lastError: string | null;
  stoppedReason: string | null;
  windowsCommitted: number;
  rowsCommitted: number;
  /** Jobs asked of this table and not yet run, in order. */
  queuedJobs: JobRequest[];
  /** The most recent jobs (queued, running, done, failed), newest last, at most 20. */
  jobs: JobRecord[];
  /**
   * When the position last moved (a window or snapshot committed, or the workflow read it from the lake). An
   * idle table commits an empty window only once this is older than its idle-commit interval. Absent in
   * snapshots carried from older runs.
   */
  positionCommittedAt?: string | null;
  /**
   * An idle table: the source position up to which it holds no change that is not in the lake, beyond
   * `position` (whose empty window was not committed, to spare the lake an empty manifest). Null once a window
   * commits. Absent in snapshots carried from older runs.
   */
  caughtUpTo?: string | null;
  /**
   * Read the lake's watermark before the next window: on a fresh start (the manifests are the truth), and after a
   * job ended early (its committed windows took sequence numbers the sync has not counted). Absent: false.
   */
  mustReadWatermark?: boolean;
}

export function initialSnapshot(table: TableRef, position: string | null = null, nextSeq = 1): TableSyncSnapshot {
  return {
    table,
    mode: 'running',
    position,
    nextSeq,
    pendingWindow: null,
    pendingAttempts: 0,
    lastCommitted: null,
    lagSeconds: null,
    lastError: null,
    stoppedReason: null,
    windowsCommitted: 0,
    rowsCommitted: 0,
    queuedJobs: [],
    jobs: [],
    positionCommittedAt: null,
    caughtUpTo: null,
  };
}

/** What the `status` query returns. */
export interface TableSyncStatus {
  table: string;
  strategy: string;
  mode: TableSyncMode;
  paused: boolean;
  position: string | null;
  lastCommitted: CommittedWindow | null;
  /** Seconds the lake is behind the source's clock, as of the last planning (includes the capture latency). */
  lagSeconds: number | null;
  /** CDC: seconds since the newest captured change, by the source's clock; null when not known. */
  captureLatencySeconds: number | null;
  /** The reason given with `pause --reason`, while a pause is requested or in effect. */
  pauseReason: string | null;
  rowsPerSecond: number | null;
  lastError: string | null;
  stoppedReason: string | null;
  windowsCommitted: number;
  rowsCommitted: number;
  jobs: JobRecord[];
  /** See {@link TableSyncSnapshot.caughtUpTo}: an idle table is current up to here (its lag is 0). */
  caughtUpTo: string | null;
}
