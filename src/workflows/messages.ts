/** Signals and queries of the table-sync workflow, in one place for workflows, CLI and tests. */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { JobRequest } from '../domain/jobs.js';
import type { TableSyncStatus } from '../state/table-sync-state.js';

export interface PauseSignalArgs {
  /** Cancel the in-flight window now (it is retried with the same bounds on resume) instead of finishing it. */
  now?: boolean;
  reason?: string;
}

/** Pause a table (for an OLTP incident): effective at the next window boundary, or at once with `now`. */
export const pauseSignal = defineSignal<[PauseSignalArgs]>('pause');
/** Plan the next window now instead of at the end of the cadence wait (operators; tests). */
export const syncNowSignal = defineSignal<[]>('syncNow');
/** Resume a paused table, or a stopped one after the operator fixed the cause. */
export const resumeSignal = defineSignal<[]>('resume');
/** State, last committed window and its positions, lag, rows/s, paused, last error. */
export const statusQuery = defineQuery<TableSyncStatus>('status');
/** Ask a table to run a job (backfill, sweep, reconciliation, re-seed) at its next window boundary. */
export const requestJobSignal = defineSignal<[JobRequest]>('requestJob');

/** A chunked job's progress (positions and counts only): chunks planned (null until planned) and done, rows. */
export interface JobProgress {
  kind: string;
  chunks: number | null;
  chunksDone: number;
  windows: number;
  rows: number;
  sourceRowsRead: number;
}
/** Progress of a chunked job workflow (snapshot, backfill, sweep, reconcile), for the CLI's progress bars. */
export const jobProgressQuery = defineQuery<JobProgress>('progress');
